"""Runtimes: what brings a topology to life (`local`, `compose`, `external`, `fake`).

`base` holds the `Runtime` protocol, capabilities and the registry; `shared` what more than one
runtime uses (Toxiproxy, ports, provisioning, health, process supervision, the topology pool).
"""
