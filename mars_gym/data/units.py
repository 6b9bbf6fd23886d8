"""Time units of the event schema: every time is an integer number of nanoseconds."""

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S
