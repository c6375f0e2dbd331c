"""Demo logic, UI-free: plain functions the Gradio tabs wrap and the tests call directly."""
