"""The PyTorchJob example's training loop: fit a linear model on the device the job got.

Shipped as the job's `python -c` program (read by component.py, never imported). It needs
no data set and no network, so it runs behind the jobs namespace's default-deny policy.
"""

import os
import torch

device = torch.device(os.environ["SMOKE_TEST_DEVICE"])
if device.type == "cuda" and not torch.cuda.is_available():
    raise SystemExit("the job asked for a GPU but PyTorch sees none")
torch.manual_seed(0)
inputs = torch.randn(4096, 32, device=device)
targets = inputs @ torch.randn(32, 1, device=device)
model = torch.nn.Linear(32, 1).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(200):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    optimizer.step()
print(f"torch {torch.__version__} on {device}: final loss {loss.item():.6f}")
if loss.item() > 1e-3:
    raise SystemExit("training did not converge")
