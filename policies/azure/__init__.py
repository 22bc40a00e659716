"""Rules over Azure resources: storage accounts (`storage`), AKS clusters (`aks`).

Written against azure-native v3 type tokens, input names and enum values (checked in
`pulumi_azure_native/storage/_enums.py` and `containerservice/_enums.py`); rules read plain
dicts and never import the SDK. Where the API documents a default, an unset input is
judged by that default. A value unknown during a preview makes the analyzer report the
rule as not run for that resource (advisory); it runs again when `pulumi up` knows it.
"""
