"""Rules over AWS resources: S3 buckets (`s3`), EKS clusters (`eks`), IAM (`iam`).

Written against pulumi-aws v7 type tokens and input names; rules read plain dicts and
never import the SDK. Values unknown during a preview (a policy built from an ARN not yet
assigned) are not judged (`values`): the check of that value passes, and the stack rules
run again with known outputs at the end of `pulumi up`. IAM and bucket policies are read
by `policy_documents`.
"""
