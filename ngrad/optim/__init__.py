"""Optimizers and learning-rate schedules.

>>> import ngrad
>>> from ngrad import optim
>>> W = ngrad.tensor([1.0, -1.0], requires_grad=True)
>>> opt = optim.Adam([("W", W)], lr=0.1)
>>> (W * W).sum().backward()
>>> opt.step()
>>> opt.zero_grad()
>>> sorted(opt.state_dict()["state"]["W"])
['exp_avg', 'exp_avg_sq', 'step']

Every optimizer updates ``p.data`` in place and keeps its state by parameter
name (:meth:`Optimizer.state_dict`); schedules live in
:mod:`ngrad.optim.lr_scheduler`.
"""
from ngrad.optim import lr_scheduler
from ngrad.optim.adam import Adam
from ngrad.optim.adamw import AdamW
from ngrad.optim.momentum import Momentum
from ngrad.optim.optimizer import Optimizer
from ngrad.optim.rmsprop import RMSprop
from ngrad.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Momentum",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]
