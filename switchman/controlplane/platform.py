"""The control plane's composition root: one object holding the store, vault, backend and reconciler."""

from __future__ import annotations

from dataclasses import dataclass

from switchman.compute.backend import ComputeBackend
from switchman.compute.factory import open_backend
from switchman.controlplane.console import ConsoleCollector
from switchman.controlplane.reconciler import Reconciler
from switchman.controlplane.routes import RoutePublisher
from switchman.controlplane.secrets import Vault
from switchman.controlplane.service import Addresses, EndpointService
from switchman.controlplane.store import Store
from switchman.controlplane.uploads import upload
from switchman.home import Home


@dataclass
class Platform:
    home: Home
    store: Store
    vault: Vault
    backend: ComputeBackend
    service: EndpointService
    publisher: RoutePublisher
    reconciler: Reconciler

    @classmethod
    def create(
        cls, home: Home, addresses: Addresses, backend: ComputeBackend | None = None
    ) -> Platform:
        home.ensure()
        store = Store(home.db_path)
        vault = Vault(home)
        backend = backend or open_backend(home)
        publisher = RoutePublisher(home, store, vault)
        service = EndpointService(home, store, vault, addresses)
        console = ConsoleCollector(store)
        console.mask = service.connections.mask_deployment
        reconciler = Reconciler(home, store, backend, publisher, console=console)
        reconciler.secret_environment = service.connections.environment
        service.check_capacity = backend.check_capacity
        return cls(
            home=home,
            store=store,
            vault=vault,
            backend=backend,
            service=service,
            publisher=publisher,
            reconciler=reconciler,
        )

    def upload(self, path: str) -> str:
        """Snapshot a local file or folder into the content-addressed asset store."""
        return str(upload(path, self.home.assets_dir))

    def environment_hashes_in_use(self) -> set[str]:
        return {
            str(d.resolved["environment_hash"])
            for d in self.store.list_deployments()
            if d.resolved.get("environment_hash")
        }
