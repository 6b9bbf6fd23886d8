"""Order-id ranges of a simulated book and the agent ids, defined once: whose order an id is can
be read off it.

| range | whose |
|---|---|
| below ``FIRST_FLOW_ORDER_ID`` | the real data the book was seeded with |
| ``FIRST_FLOW_ORDER_ID`` .. | the background flow's orders |
| ``FIRST_LADDER_ORDER_ID`` .. | the depth ladder's levels (:mod:`mars_gym.sim.depth`) |
| ``FIRST_AGENT_ORDER_ID`` .. | the agents' orders |
"""

from mars_gym.data.schema import MAX_REAL_ORDER_ID

FIRST_FLOW_ORDER_ID = MAX_REAL_ORDER_ID + 1  # 2**40: above the ids of any real data
FIRST_LADDER_ORDER_ID = 1 << 45  # between the flows' ids and the agents'
FIRST_AGENT_ORDER_ID = 1 << 50  # agents' ids never meet real data or flow ids

# agent ids (who placed an order: lob_core's agent_id); 0 is the background flow's
# (mars_gym.sim._event_loop.BACKGROUND_AGENT)
AGENT_ID = 1  # the trading agent of a single-agent task (the envs')
