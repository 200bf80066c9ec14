"""Media operations: the only package that runs ffmpeg."""
