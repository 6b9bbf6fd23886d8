"""The ensemble: the order model (:mod:`mars_gym.lmm`) reading minute plans that the minute
model (:mod:`mars_gym.minutes`) draws, a layer above both.

* :mod:`mars_gym.ensemble.plan`: minute plans, real and predicted (:class:`Planner`), and the
  plan of each order position (:class:`MinutePlans`);
* :mod:`mars_gym.ensemble.control`: the live planner of a generated stream and the targets it
  steers towards (:class:`LivePlanner`, :class:`PlanTarget`);
* :mod:`mars_gym.ensemble.tilt`: plan guidance, the order model's draws tilted towards the
  chosen minute (:class:`PlanTilt`);
* :mod:`mars_gym.ensemble.flow`: the minute half of the ``ensemble`` flow built for a stream
  (:func:`live_planner`, the flow itself being :mod:`mars_gym.sim.flows.factory`'s).

Nothing is imported here: each module loads torch and the minute model's code.
"""
