"""Turn the kit's input and checkpoint errors into ``gr.Error`` messages a learner can act on."""

from __future__ import annotations

import functools
import inspect
import logging
import re

import gradio as gr

from kit.demos.common import DemoInputError
from kit.models import CheckpointError
from kit.preprocess import BlankImageError, UnreadableImageError

log = logging.getLogger("latent_lab")


def _sentence(err: Exception) -> str:
    """The kit's lower-case error message as a sentence: capitalised, with a full stop."""
    text = str(err)
    return f"{text[:1].upper()}{text[1:]}."


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
            raise gr.Error(_sentence(err), title="Can't use that file") from None
        except DemoInputError as err:
            raise gr.Error(_sentence(err), title="Check the input") from None
        except CheckpointError as err:
            log.error("checkpoint problem: %s", err)
            where = re.sub(r"(?<![\w.])/\S*/(?=[\w.-]+/[\w.-]+\.\w+)", "", str(err))
            raise gr.Error(  # the server's directory layout is not the visitor's business
                f"This demo's model could not be loaded: {where}", title="Model unavailable"
            ) from None
        except ValueError as err:
            raise gr.Error(
                f"That input could not be used: {err}.", title="Check the input"
            ) from None

    return wrapper


PLOT_CACHE_SIZE = 32  # rendered plots kept per event (a few hundred kB each)


def _cache_key(args: tuple):
    """``args`` if every one is a plain hashable scalar and none is None (None may mean
    "random": never cached), else None."""
    if all(isinstance(a, (int, float, str, bool)) for a in args):
        return args
    return None


def named_outputs(fn, components: dict):
    """Wrap ``fn`` (which returns a dict of named results) for a Gradio event.

    Returns ``(handler, outputs)``: the handler maps each result name onto its component, so
    no event depends on the order of a positional output list; errors become toasts.

    Plots: drawing a matplotlib figure (Gradio's ``gr.Plot`` does it after the handler returns)
    costs 0.2-0.7 s on one core, far more than the demos' own work. Every demo is a
    deterministic function of its arguments (randomness comes from a seed argument), so when
    an event has ``gr.Plot`` outputs, the handler draws them itself and keeps the drawn result
    for the last ``PLOT_CACHE_SIZE`` argument tuples: the page-load plots and the presets the
    quiz links to are drawn once per process, not once per visitor.
    """
    plots = {k for k, c in components.items() if isinstance(c, gr.Plot)}

    def compute(*args) -> dict:
        out = {k: v for k, v in fn(*args).items() if k in components}
        for k in plots & out.keys():  # draw now; gr.Plot passes a drawn PlotData through
            out[k] = components[k].postprocess(out[k])
        return out

    cached = functools.lru_cache(maxsize=PLOT_CACHE_SIZE)(compute)

    @user_errors
    def handler(*args):
        key = _cache_key(args) if plots else None
        out = cached(*key) if key is not None else compute(*args)
        return {components[k]: v for k, v in out.items()}

    handler.__name__ = getattr(fn, "__name__", "handler")
    handler.plot_cache = cached  # for tests and benchmarks: cache_info(), cache_clear()
    # what the quiz's "Run the demo" reads to fill a tab: argument names in input order, and
    # the result name each output component shows
    handler.input_names = list(inspect.signature(fn).parameters)
    handler.output_components = dict(components)
    return handler, list(components.values())
