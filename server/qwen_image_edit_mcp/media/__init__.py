"""Images in and out: inputs as callers have them, local files, image bytes, outputs, previews, saving."""
