"""C4W2 Transfer learning, shown for real without downloaded weights: a small MobileNetV2
pretrained on one half of SIGNS and transferred to the other half.

The course takes MobileNetV2 pretrained on ImageNet, freezes it, puts a new
head on it (global average pooling, dropout, a dense layer) behind its
``data_augmenter()`` (random flip, random rotation 0.2), trains the head
(Adam 1e-3, 5 epochs: validation 0.8769 on its 65 alpaca images), then
unfreezes the base from layer 120 of 154 and fine-tunes with Adam 1e-4
(5 more epochs: 0.9846).

Nothing is downloaded here, so the pretraining happens too:

1. source task: :func:`ngrad.models.mobilenet_v2_small` learns SIGNS signs
   0 to 3 from all their training images; its weights are saved to a
   safetensors file (``.npz`` without the safetensors package);
2. target task, binary as the course's alpaca / not alpaca: sign 4 or 5,
   from only ``SHOTS`` training images each, one logit and binary
   cross-entropy, tested on all their test images, three ways:

   - from scratch: the same network, randomly initialised;
   - frozen base: the pretrained weights loaded by name
     (:func:`ngrad.nn.transfer.load_matching`, which reports the head as
     shape-mismatched), the base frozen (its BatchNorm in inference mode),
     a new head trained;
   - fine-tuned: then the base unfrozen from the same fraction of its layers
     as the course (120 of 154) and trained on with a ten times smaller
     learning rate.

The course's numbers are for its alpaca images and ImageNet weights, so they
are shown beside, not compared. One check is exact: training the head must
leave every weight and running statistic of the frozen base unchanged.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import nn
from ngrad.data.augment import data_augmenter
from ngrad.models import mobilenet_v2_small
from ngrad.nn.transfer import freeze, freeze_until, layers, load_matching, replace_head
from ngrad.reproduce import c4_common
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

SOURCE, TARGET = (0, 1, 2, 3), (4, 5)
SHOTS = 20  # training images per target class
PRETRAIN_EPOCHS, EPOCHS, BATCH = 15, 20, 32
LR, FINE_TUNE_LR = 1e-3, 1e-4
FINE_TUNE_FRACTION = 120 / 154  # the course unfreezes MobileNetV2 from layer 120 of 154
SEED = 0


def split_task(X, y, classes, shots=None, seed=SEED):
    """The images of ``classes`` relabelled 0..k-1; at most ``shots`` per class (seeded)."""
    keep = np.isin(y, classes)
    X, y = X[keep], np.searchsorted(np.asarray(classes), y[keep])
    return c4_common.quick_subset(X, y, shots, seed) if shots is not None else (X, y)


def network(num_classes):
    """The small MobileNetV2 for 64x64 images (stride-2 stem); one output is a binary logit."""
    return mobilenet_v2_small(num_classes, stem_stride=2)


def fit_target(net, data, epochs, lr, ctx, prefix):
    """Train on the binary target task behind the course's augmenter (BCE on the logit)."""
    X, y, X_val, y_val = data
    c4_common.train(with_augmenter(net), X, y, X_val, y_val, epochs, BATCH, lr, ctx, seed=SEED, every=10,
                    prefix=prefix, loss="bce_with_logits")


def with_augmenter(net):
    """The course's model: data_augmenter() first (active in training only), then the network."""
    return nn.Sequential({"augment": data_augmenter(rng=SEED), "net": net})


def pretrain(data, epochs, ctx, path):
    X, y, X_val, y_val = data
    ngrad.manual_seed(SEED)
    net = network(len(SOURCE))
    ctx.log(f"pretraining on signs {SOURCE}: {len(X)} images, {epochs} epochs")
    c4_common.train(net, X, y, X_val, y_val, epochs, BATCH, LR, ctx, seed=SEED, every=5, prefix="  ")
    ngrad.save_weights(net, path)
    return net


def base_state(net) -> dict:
    return {k: v for k, v in net.state_dict().items() if k.startswith("features.")}


def largest_change(before: dict, after: dict) -> float:
    return max(float(np.max(np.abs(after[k].astype(np.float64) - v))) if v.size else 0.0 for k, v in before.items())


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = c4_common.load_signs_nchw(ctx.data_dir)
    source = (*split_task(X_train, y_train, SOURCE), *split_task(X_test, y_test, SOURCE))
    shots = 3 if ctx.quick else SHOTS
    target = (*split_task(X_train, y_train, TARGET, shots), *split_task(X_test, y_test, TARGET))
    if ctx.quick:
        source = (*split_task(X_train, y_train, SOURCE, 4), *split_task(X_test, y_test, SOURCE, 2))
        target = (*target[:2], *split_task(X_test, y_test, TARGET, 2))
    pre_epochs, epochs = (1, 1) if ctx.quick else (PRETRAIN_EPOCHS, ctx.length(EPOCHS, quick=1))
    ctx.out.mkdir(parents=True, exist_ok=True)
    path = ctx.out / ("pretrained.safetensors" if _has_safetensors() else "pretrained.npz")
    pretrained = pretrain(source, pre_epochs, ctx, path)
    source_test = c4_common.accuracy(pretrained, *source[2:])
    result.rows.append(Row.info(f"source task (signs {SOURCE}): test accuracy", source_test))
    X, y, X_val, y_val = target
    ctx.log(f"target task (sign 4 or 5): {len(X)} training images ({shots} per class), {len(X_val)} test images")

    # from scratch
    ngrad.manual_seed(SEED)
    scratch = network(1)
    fit_target(scratch, target, 2 * epochs, LR, ctx, "  scratch ")
    result.rows.append(Row.info(f"from scratch ({2 * epochs} epochs): test accuracy",
                                c4_common.accuracy(scratch, X_val, y_val)))

    # frozen base + new head
    ngrad.manual_seed(SEED)
    net = network(1)
    report = load_matching(net, path)
    ctx.log(str(report).splitlines()[0])
    result.rows += [Row.info("load_matching: entries loaded", len(report.matched)),
                    Row.printed("load_matching: shape-mismatched entries (the old head)", "2", len(report.mismatched))]
    freeze(net.features)
    replace_head(net, nn.Linear(net.classifier.in_features, 1))
    before = base_state(net)
    fit_target(net, target, epochs, LR, ctx, "  frozen ")
    result.rows.append(Row.printed("frozen base: largest change of a base weight or running statistic", "0",
                                   largest_change(before, base_state(net))))
    result.rows.append(Row.info(f"frozen base + new head ({epochs} epochs): test accuracy",
                                c4_common.accuracy(net, X_val, y_val), course_text="0.8769 (alpaca)"))

    # fine-tuning from the course's fraction of the layers
    k = int(round(FINE_TUNE_FRACTION * len(layers(net.features))))
    freeze_until(net, k)
    trainable = sum(p.size for p in net.parameters() if p.requires_grad)
    ctx.log(f"fine-tuning from layer {k} of {len(layers(net))} ({trainable} trainable parameters)")
    fit_target(net, target, epochs, FINE_TUNE_LR, ctx, "  fine-tune ")
    result.rows.append(Row.info(f"fine-tuned from layer {k} ({epochs} more epochs): test accuracy",
                                c4_common.accuracy(net, X_val, y_val), course_text="0.9846 (alpaca)"))
    result.notes.append("the course's numbers are its alpaca validation accuracies with ImageNet weights: shown, "
                        "not compared")
    return result


def _has_safetensors() -> bool:
    try:
        import safetensors  # noqa: F401
    except ImportError:
        return False
    return True


EXPERIMENT = Experiment(
    id="c4w2-transfer",
    title="transfer learning with a small MobileNetV2: pretrained on SIGNS 0-3, then frozen / fine-tuned / "
          "from scratch on 4 vs 5",
    needs_data=True,
    run=run,
    epochs=EPOCHS,
    source="C4W2 Transfer learning with MobileNetV2 (recipe); numbers on other data",
)
