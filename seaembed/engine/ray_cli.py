"""The `--ray [--ray-workers N] [--ray-address ADDR]` flags that `seaembed index` and `seaembed encode` share.

Light imports only (typer): `ray_options` imports `seaembed.engine.ray_encode` when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from seaembed.engine.ray_encode import RayOptions

RAY = typer.Option(False, "--ray", help="Encode with Ray Data actors (pip install 'ray[data]'): a local Ray unless "
                   "--ray-address or RAY_ADDRESS names a cluster.")
RAY_WORKERS = typer.Option(None, "--ray-workers", min=1, help="Ray actors, one model each (default: one per CPU "
                           "Ray reports).")
RAY_ADDRESS = typer.Option(None, "--ray-address", help="Ray cluster to join (auto, ray://HOST:10001; default: "
                           "RAY_ADDRESS, else a local Ray).")


def ray_options(ray: bool, workers: int | None, address: str | None) -> RayOptions | None:
    """The flags as `RayOptions` (None without `--ray`). A worker count or address without `--ray`, or `--ray`
    without Ray installed, is a one-line `ConfigError`, raised before anything is read or loaded."""
    from seaembed.errors import ConfigError

    if (workers or address) and not ray:
        raise ConfigError("--ray-workers and --ray-address go with --ray")
    if not ray:
        return None
    from seaembed.engine.ray_encode import RayOptions, require_ray

    require_ray()
    return RayOptions(workers=workers, address=address)


__all__ = ["RAY", "RAY_ADDRESS", "RAY_WORKERS", "ray_options"]
