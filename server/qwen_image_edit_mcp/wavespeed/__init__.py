"""The only code that speaks HTTP to WaveSpeed: the client, its envelope, uploads, and the one HTTP client factory."""
