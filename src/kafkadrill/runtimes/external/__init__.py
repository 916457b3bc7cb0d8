"""The `external` runtime: clusters kafkadrill did not start, acted on through adapters."""
