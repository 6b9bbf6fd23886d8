"""Order-id ranges of a simulated book, defined once: whose order an id is can be read off it.

| range | whose |
|---|---|
| below ``FIRST_FLOW_ORDER_ID`` | the real data the book was seeded with |
| ``FIRST_FLOW_ORDER_ID`` .. | the background flow's orders |
| ``FIRST_LADDER_ORDER_ID`` .. | the depth ladder's levels (:mod:`mars_gym.sim.depth`) |
| ``FIRST_AGENT_ORDER_ID`` .. | the agents' orders |
"""

FIRST_FLOW_ORDER_ID = 1 << 40  # above the ids of any real data the book is seeded with
FIRST_LADDER_ORDER_ID = 1 << 45  # between the flows' ids and the agents'
FIRST_AGENT_ORDER_ID = 1 << 50  # agents' ids never meet real data or flow ids
