"""The shared kernel: what every layer may use and that imports nothing of the product above it:
domain errors, the directory change events' vocabulary, the clock, opaque tokens and the access rule."""
