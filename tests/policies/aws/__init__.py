"""Tests of policies/aws/."""
