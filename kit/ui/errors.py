"""Turn the kit's input and checkpoint errors into ``gr.Error`` messages a learner can act on."""

from __future__ import annotations

import functools
import inspect
import logging
import re

import gradio as gr

from kit.demos.errors import DemoInputError
from kit.demos.spec import DemoSpec
from kit.models import CheckpointError
from kit.preprocess import BlankImageError, UnreadableImageError

log = logging.getLogger("latent_lab")


def as_sentence(message: Exception | str) -> str:
    """The kit's lower-case error message as a sentence: capitalised, with a full stop."""
    text = str(message)
    return f"{text[:1].upper()}{text[1:]}."


GENERIC = (
    "Something went wrong on the server while running this demo. It has been logged; "
    "try other settings, or reload the page."
)


def user_errors(fn):
    """Wrap a handler so that the kit's own errors show a toast that says what to do.

    Bad input (``DemoInputError``, unreadable or blank images) and broken checkpoints are the
    kit's error types and their messages are meant for the visitor. Anything else is a bug: it
    is logged with its traceback and the visitor sees a generic sentence, never the trace.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except BlankImageError as err:
            raise gr.Error(
                f"Nothing to read: {err}.", title="Empty drawing", print_exception=False
            ) from None
        except UnreadableImageError as err:
            raise gr.Error(
                as_sentence(err), title="Can't use that file", print_exception=False
            ) from None
        except DemoInputError as err:
            raise gr.Error(
                as_sentence(err), title="Check the input", print_exception=False
            ) from None
        except CheckpointError as err:
            log.error("checkpoint problem: %s", err)
            where = re.sub(r"(?<![\w.])/\S*/(?=[\w.-]+/[\w.-]+\.\w+)", "", str(err))
            raise gr.Error(  # the server's directory layout is not the visitor's business
                f"This demo's model could not be loaded: {where}", title="Model unavailable"
            ) from None
        except Exception:
            log.exception("unexpected error in %s", getattr(fn, "__name__", "a handler"))
            raise gr.Error(GENERIC, title="Server error", print_exception=False) from None

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
    return handler, list(components.values())


def demo_handler(spec: DemoSpec, components: dict, fixed: dict | None = None):
    """The Gradio handler of a demo's event, built from its spec.

    Its signature is the spec's parameters (so the API names them: ``digit``, ``temperature``)
    and its docstring is the spec's API description (Gradio shows it). Every value is checked
    by ``spec.coerce`` first, so a refused value gets a message naming the parameter and its
    range, then the demo runs and its named results go to ``components``. ``fixed`` holds
    parameters the event does not take (e.g. ``{"seed": None}``: a fresh random pick each
    press). Returns ``(handler, outputs)`` like ``named_outputs``.
    """
    fixed = dict(fixed or {})
    names = [p.name for p in spec.params if p.name not in fixed]

    def run(*args) -> dict:
        return spec.fn(**spec.coerce({**dict(zip(names, args, strict=True)), **fixed}))

    run.__name__ = spec.api_name
    handler, outputs = named_outputs(run, components)
    handler.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    handler.__doc__ = spec.api_description()
    return handler, outputs
