"""Parts more than one runtime uses."""
