"""Devices as the library reports them."""

from __future__ import annotations

import os

import pytest

import bitnet
from bitnet import Device, DeviceKind


def test_the_cpu_is_listed_first_and_available():
    devs = bitnet.Device.available_devices()
    assert devs and devs[0] == Device.CPU
    assert Device.CPU.is_available() and Device.AUTO.is_available()
    infos = bitnet.list_devices()
    assert infos[0].device == Device.CPU and infos[0].name


def test_cpu_capabilities_and_memory_are_plausible():
    caps = Device.CPU.capabilities()
    assert isinstance(caps, bitnet.DeviceCapabilities)
    assert caps.max_threads >= 1 and caps.compute_capability is None
    mem = Device.CPU.memory_info()
    assert isinstance(mem, bitnet.DeviceMemoryInfo)
    if mem.total:
        assert 0 <= mem.free <= mem.total and mem.used == mem.total - mem.free
        if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
            phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            assert mem.total == pytest.approx(phys, rel=0.1)


def test_auto_resolves_to_a_present_device_and_models_report_it(stories):
    assert Device.AUTO.info().available
    assert stories.model_info.device in Device.available_devices()


def test_device_values_compare_parse_and_print():
    assert Device.cuda(1) == Device(DeviceKind.CUDA, 1) != Device.cuda(0)
    assert Device.parse("cuda:1") == Device.cuda(1) and Device.parse("CPU") == Device.CPU
    assert str(Device.cuda(2)) == "cuda:2" and repr(Device.METAL) == "Device.METAL"
    assert bitnet.ModelConfig(device="cpu").device == Device.CPU
    with pytest.raises(bitnet.ConfigError):
        Device.cuda(-1)
