"""What the AWS and Azure contexts share: the options of a component's cloud children."""

from __future__ import annotations

import pulumi

from components.stateful import data_options


class CloudContext:
    """Creates a component's cloud children through the environment's provider, and keeps
    those holding data where the environment protects data (prod)."""

    provider: pulumi.ProviderResource
    protect_stateful: bool

    def options(self, parent: pulumi.Resource, **options: object) -> pulumi.ResourceOptions:
        """Options for a component's cloud children: parented to it, created through the
        environment's provider."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **options)  # type: ignore[arg-type]

    def stateful_options(
        self, parent: pulumi.Resource, **options: object
    ) -> pulumi.ResourceOptions:
        """Options for a child that holds data: protected and kept on delete where that is
        the environment's rule, so `pulumi up` never deletes or replaces it silently."""
        return pulumi.ResourceOptions.merge(
            data_options(self.protect_stateful), self.options(parent, **options)
        )
