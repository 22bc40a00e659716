"""Tests of policies/kubernetes/."""
