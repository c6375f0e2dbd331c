"""Code drills: write a VAE's core functions, graded in a sandbox that names the classic mistake.

- ``spec``: the records (``Drill``, ``Case``, ``Mistake``);
- ``catalog``: the drills themselves (statement, starter code, hidden cases, named mistakes);
- ``solutions``: the reference solutions and the named wrong variants (server side only);
- ``allowlist``: the ``ast`` allowlist every submission must pass (sandbox layer 1);
- ``harness``: turns a case's JSON description into arguments, runs a function, encodes the
  result as JSON (the same code runs the reference in the server and the learner's code in the
  worker, so the two are compared like for like);
- ``worker``: the warm forker and the fresh, rlimited, Landlocked, single-use processes it
  forks to run one submission each (layer 2);
- ``pool``: starts the forker, keeps one worker forked ahead, kills on a wall-clock limit
  (layer 2);
- ``grader``: capacity (layer 3), comparison with the reference and the diagnosis;
- ``drive``: the live demos a submission drives (reconstructions, interpolation, sampling,
  a short training run on the learner's loss).
"""
