"""``ngrad demo``: train a small network on generated data with the core alone."""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("demo", help="train a 2-layer network on generated spiral data and print its accuracy")
    p.add_argument("--epochs", type=int, default=1000, help="full-batch gradient-descent steps (default 1000)")
    p.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def spirals(n_per_class: int, n_classes: int, rng):
    """``n_classes`` interleaved spiral arms in 2-D (CS231n's toy set). Returns X (m, 2), y (m,)."""
    import numpy as np

    m = n_per_class * n_classes
    X = np.zeros((m, 2))
    y = np.repeat(np.arange(n_classes), n_per_class)
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.standard_normal(n_per_class) * 0.2
        X[k * n_per_class : (k + 1) * n_per_class] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X, y


def run(args) -> int:
    import numpy as np

    import ngrad
    from ngrad.ops.loss import cross_entropy

    rng = np.random.default_rng(args.seed)
    X_np, y_np = spirals(100, 3, rng)
    X, y = ngrad.tensor(X_np), ngrad.tensor(y_np)
    W1 = ngrad.tensor(rng.standard_normal((2, args.hidden)) * np.sqrt(2 / 2), requires_grad=True)
    b1 = ngrad.zeros(args.hidden, requires_grad=True)
    W2 = ngrad.tensor(rng.standard_normal((args.hidden, 3)) * np.sqrt(1 / args.hidden), requires_grad=True)
    b2 = ngrad.zeros(3, requires_grad=True)
    params = [W1, b1, W2, b2]
    print(f"ngrad demo: 3-class spirals, {len(y_np)} points, 2-{args.hidden}-3 ReLU network, full-batch GD")
    for epoch in range(args.epochs + 1):
        logits = (X @ W1 + b1).relu() @ W2 + b2
        loss = cross_entropy(logits, y)
        for p in params:
            p.grad = None
        loss.backward()
        with ngrad.no_grad():
            for p in params:
                p.data -= args.lr * p.grad.data
        if epoch % max(1, args.epochs // 5) == 0:
            print(f"  epoch {epoch:5d}  cost {loss.item():.4f}")
    acc = float((logits.argmax(axis=1).numpy() == y_np).mean())
    print(f"training accuracy: {acc:.3f} (a linear classifier reaches about 0.5 on this data)")
    return 0
