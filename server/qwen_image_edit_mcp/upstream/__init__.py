"""The upstream seam: what the server needs from an image-edit service, in neutral types (`types.py`), the protocol
an adapter implements (`protocol.py`; WaveSpeed's is `wavespeed/`), and the model catalog it serves (`catalog.py`)."""
