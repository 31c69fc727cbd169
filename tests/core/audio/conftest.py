"""Fixtures of the audio tests: ``use_ffmpeg`` swaps in fake ffmpeg/ffprobe programs."""

from tests.helpers.fake_tools import use_ffmpeg

__all__ = ["use_ffmpeg"]
