"""Headers every protocol reads or writes the same way."""

ROUTE_KEY = "x-scorer-route-key"
"""A request header: requests with the same value go to the same A/B variant."""
MODEL_HEADER = "x-scorer-model"
"""A response header: the name of the model that answered."""
