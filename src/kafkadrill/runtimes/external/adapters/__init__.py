"""Adapters: how an external runtime acts on clusters it did not start.

`command` runs argv templates (no shell unless asked), `toxiproxy` drives a Toxiproxy the user
runs, `connect` pauses/resumes/restarts MirrorMaker 2 connectors over Kafka Connect REST. Every
call is recorded (`Recorder`): what ran, its exit code or HTTP status, its output (truncated,
secrets replaced), into the drill's history as `adapter.exec` events.
"""

from kafkadrill.runtimes.external.adapters.record import Exec, Recorder

__all__ = ["Exec", "Recorder"]
