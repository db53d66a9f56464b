"""Loaded by the worker and the scheduler (django_dramatiq / dramatiq_crontab look for `tasks`)
and by HubConfig.ready(): declares every hub actor. Each actor lives next to what it drives."""

from hub.chain import actors as chain_actors
from hub.channels import actors as channel_actors
from hub.checkout import actors as checkout_actors
from hub.disputes import actors as dispute_actors
from hub.liabilities import actors as liability_actors
from hub.threads import actors as thread_actors

__all__ = ["chain_actors", "channel_actors", "checkout_actors", "dispute_actors", "liability_actors", "thread_actors"]
