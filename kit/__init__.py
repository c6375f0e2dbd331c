"""Latent Lab's core kit: models, losses, data, training and the demo functions.

Everything here is UI-free so that the tests, the CLI and the Gradio app share one code path.
"""

__version__ = "0.1.0"
