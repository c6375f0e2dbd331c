"""The error a demo raises for an argument a learner (or an API caller) got wrong."""


class DemoInputError(ValueError):
    """A demo argument a learner (or an API caller) got wrong; the message says how to fix it."""
