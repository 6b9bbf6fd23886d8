"""Names of the generation options, importable without torch (command-line parsers read them).

``STEP_MODES``: how a batched generation step runs (:mod:`mars_gym.lmm.generate`).
``PRECISIONS``: the dtype generation casts the model to (:mod:`mars_gym.lmm.serve`).
"""

STEP_MODES = ("dynamic", "static", "cuda_graph")
PRECISIONS = ("float32", "bfloat16", "float16")
