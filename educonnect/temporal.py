"""The Temporal client, with the pydantic data converter (DESIGN §5, §7)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from educonnect.settings import Settings, get_settings


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the Temporal frontend: mutual TLS when a client certificate or a
    CA is given (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA), else
    plain TLS with TEMPORAL_TLS=true, else none."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and key is None and ca is None:
        return settings.temporal_tls
    if (cert is None) != (key is None):
        raise ValueError(
            "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS with Temporal)"
        )
    return TLSConfig(
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
        server_root_ca_cert=ca.read_bytes() if ca else None,
    )


async def connect(settings: Settings | None = None) -> Client:
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls_config(settings),
        data_converter=pydantic_data_converter,
    )
