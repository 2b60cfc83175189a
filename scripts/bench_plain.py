"""The baseline: the fastest plain PyTorch loop for the benchmark's job (tensor indexing, no
DataLoader, one host sync per epoch), doing the same work per epoch as a regopt fit (train, then
validate). Prints one JSON line: fit seconds and final losses."""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from regopt.data.gaussian import gaussian_classes
from regopt.models.mlp import MLP


def job_arguments() -> argparse.ArgumentParser:
    """The benchmark job's settings (shared with scripts/bench_lightning.py)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-val", type=int, default=2_000)
    parser.add_argument("--input-dim", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    return parser


def job_data(args: argparse.Namespace) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_val, y_val): regopt's data=synthetic for the same settings."""
    n = args.n_train
    x, y = gaussian_classes(n + args.n_val, args.input_dim, args.classes, 4.0, args.seed)
    return x[:n], y[:n], x[n:], y[n:]


def main() -> None:
    args = job_arguments().parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x_train, y_train, x_val, y_val = job_data(args)
    torch.manual_seed(args.seed)
    model = MLP(args.input_dim, args.classes, widths=[512, 512])
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        generator = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
        order = torch.randperm(args.n_train, generator=generator)
        train_sum = torch.zeros(())
        for start in range(0, args.n_train, args.batch_size):
            index = order[start : start + args.batch_size]
            loss = loss_fn(model(x_train[index]), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            train_sum += loss.detach() * len(index)
        model.eval()
        with torch.no_grad():
            outputs = model(x_val)
            val_loss = loss_fn(outputs, y_val).item()
            val_acc = (outputs.argmax(-1) == y_val).float().mean().item()
        train_loss = (train_sum / args.n_train).item()
    fit_s = time.perf_counter() - started
    print(
        json.dumps(
            {"fit_s": fit_s, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc}
        )
    )


if __name__ == "__main__":
    main()
