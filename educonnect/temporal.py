"""The Temporal client and its data converter: pydantic (DESIGN §5, §7), the
payloads encrypted (DESIGN §9, `educonnect.payload_codec`), failure messages
and stack traces moved into the encrypted attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.client import Client, TLSConfig
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from educonnect.payload_codec import EncryptionCodec, parse_key_ring
from educonnect.settings import Settings, get_settings


def data_converter(settings: Settings | None = None) -> DataConverter:
    """What every client, worker and replayer of the project converts payloads with."""
    settings = settings or get_settings()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(parse_key_ring(settings.temporal_payload_keys)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


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


async def connect(
    settings: Settings | None = None,
    *,
    interceptors: Sequence[ClientInterceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    """`interceptors`: tracing (`educonnect.tracing`); `runtime`: the worker's,
    with its Prometheus telemetry (`worker.py`)."""
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls_config(settings),
        data_converter=data_converter(settings),
        interceptors=interceptors,
        runtime=runtime,
    )
