"""The `local` runtime: a topology as processes on this machine."""
