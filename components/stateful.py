"""The one way Plinth protects a resource that holds data (buckets, keys, volumes, clusters).

Where the environment's rule says data must survive (prod), such a resource is `protect`ed
(`pulumi up` refuses to delete or replace it until someone unprotects it) and
`retain_on_delete` (even then, Pulumi forgets it but leaves it and its data in the cloud or
cluster for an administrator to back up and delete by hand). Every target and component
asks for these options here, through `Cluster.stateful_options` or
`AwsContext.stateful_options`; the policy pack checks the result.
"""

from __future__ import annotations

import pulumi


def protects_data(tier: str) -> bool:
    """Whether an environment of `tier` protects resources that hold data: in prod, losing
    them is never routine."""
    return tier == "prod"


def data_options(protect: bool) -> pulumi.ResourceOptions:
    """The options of a resource that holds data, under the environment's rule `protect`."""
    return pulumi.ResourceOptions(protect=protect, retain_on_delete=protect)
