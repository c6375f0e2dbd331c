"""The Train live tab as a browser script sees it: where its status text is, and a watcher
that records when its chart changes (shared by the browser test and the stream benchmark)."""

STATUS = "#train-live-status [data-testid=markdown]"
"""CSS selector of the status text (not the queue tracker Gradio lays over it)."""

WATCH_CHART = """
() => {
  window.chartTimes = [];
  const root = document.querySelector('#train-live-chart');
  let last = null;
  const note = () => {
    const img = root.querySelector('img');
    const src = img ? img.getAttribute('src') : null;
    if (src && src !== last) { last = src; window.chartTimes.push(performance.now()); }
  };
  new MutationObserver(note).observe(root, {subtree: true, childList: true, attributes: true});
}
"""
"""JavaScript for ``page.evaluate``: from then on ``window.chartTimes`` lists the
``performance.now()`` of every new chart image."""
