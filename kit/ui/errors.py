"""Turn the kit's input and checkpoint errors into ``gr.Error`` messages a learner can act on."""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from kit.demos.common import DemoInputError
from kit.models import CheckpointError
from kit.preprocess import BlankImageError, UnreadableImageError

log = logging.getLogger("latent_lab")


def user_errors(fn):
    """Wrap a handler so that bad input or a broken checkpoint shows a toast, not a trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except BlankImageError as err:
            raise gr.Error(f"Nothing to read: {err}.", title="Empty drawing") from None
        except UnreadableImageError as err:
            raise gr.Error(
                f"{str(err)[:1].upper()}{str(err)[1:]}.", title="Can't use that file"
            ) from None
        except DemoInputError as err:
            raise gr.Error(
                f"{str(err)[:1].upper()}{str(err)[1:]}.", title="Check the input"
            ) from None
        except CheckpointError as err:
            log.error("checkpoint problem: %s", err)
            raise gr.Error(
                f"This demo's model could not be loaded: {err}", title="Model unavailable"
            ) from None
        except ValueError as err:
            raise gr.Error(
                f"That input could not be used: {err}.", title="Check the input"
            ) from None

    return wrapper


def named_outputs(fn, components: dict):
    """Wrap ``fn`` (which returns a dict of named results) for a Gradio event.

    Returns ``(handler, outputs)``: the handler maps each result name onto its component, so
    no event depends on the order of a positional output list; errors become toasts.
    """

    @user_errors
    def handler(*args):
        return {components[k]: v for k, v in fn(*args).items() if k in components}

    handler.__name__ = getattr(fn, "__name__", "handler")
    # what the quiz's "Run the demo" reads to fill a tab: argument names in input order, and
    # the result name each output component shows
    handler.input_names = list(inspect.signature(fn).parameters)
    handler.output_components = dict(components)
    return handler, list(components.values())
