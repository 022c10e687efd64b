"""The dtype table: torch storage types and dtypes, numpy descriptors, and their safetensors codes.

One table (reviewed data, see convert.md §3.1) decides which element types
convert, how wide they are, how their bytes swap and negate, and where they
sort in a safetensors header. Everything else is refused with a named reason.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Element kinds: how ``neg`` acts on the raw bits.
FLOAT, SIGNED, UNSIGNED, BOOL, COMPLEX, FLOAT8, FLOAT4 = (
    "float",
    "signed",
    "unsigned",
    "bool",
    "complex",
    "float8",
    "float4",
)


@dataclass(frozen=True)
class DType:
    """A tensor element type safetensors can hold."""

    #: safetensors code (``F32``).
    code: str
    #: torch name (``float32``).
    torch_name: str
    #: Bytes per torch element (``float4_e2m1fn_x2`` packs two values in one byte).
    itemsize: int
    kind: str

    @property
    def unit(self) -> int:
        """Width of one byte-swapped component (complex64 swaps its two 4-byte halves)."""
        return self.itemsize // 2 if self.kind == COMPLEX else self.itemsize

    @property
    def components(self) -> int:
        return self.itemsize // self.unit

    @property
    def header_scale(self) -> int:
        """safetensors counts float4 values, torch counts packed bytes: the last dim doubles."""
        return 2 if self.kind == FLOAT4 else 1


_TABLE = (
    DType("F64", "float64", 8, FLOAT),
    DType("F32", "float32", 4, FLOAT),
    DType("F16", "float16", 2, FLOAT),
    DType("BF16", "bfloat16", 2, FLOAT),
    DType("I64", "int64", 8, SIGNED),
    DType("I32", "int32", 4, SIGNED),
    DType("I16", "int16", 2, SIGNED),
    DType("I8", "int8", 1, SIGNED),
    DType("U64", "uint64", 8, UNSIGNED),
    DType("U32", "uint32", 4, UNSIGNED),
    DType("U16", "uint16", 2, UNSIGNED),
    DType("U8", "uint8", 1, UNSIGNED),
    DType("BOOL", "bool", 1, BOOL),
    DType("C64", "complex64", 8, COMPLEX),
    DType("F8_E4M3", "float8_e4m3fn", 1, FLOAT8),
    DType("F8_E5M2", "float8_e5m2", 1, FLOAT8),
    DType("F8_E4M3FNUZ", "float8_e4m3fnuz", 1, FLOAT8),
    DType("F8_E5M2FNUZ", "float8_e5m2fnuz", 1, FLOAT8),
    DType("F8_E8M0", "float8_e8m0fnu", 1, FLOAT8),
    DType("F4", "float4_e2m1fn_x2", 1, FLOAT4),
)

BY_TORCH_NAME: dict[str, DType] = {d.torch_name: d for d in _TABLE}
BY_CODE: dict[str, DType] = {d.code: d for d in _TABLE}

#: Spellings torch accepts as aliases of canonical dtype names.
_TORCH_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "chalf": "complex32",
}

#: torch dtypes with no safetensors code, and why.
REFUSED_TORCH_DTYPES: dict[str, str] = {
    "complex128": "safetensors has no complex128 type",
    "complex32": "safetensors has no complex32 type",
    **{
        name: "quantized tensors have no safetensors representation"
        for name in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4")
    },
    **{
        name: "bit-packed 'bits' types have no safetensors code"
        for name in ("bits8", "bits16", "bits1x8", "bits2x4", "bits4x2")
    },
    **{f"int{n}": "sub-byte integer types have no safetensors code" for n in range(1, 8)},
    **{f"uint{n}": "sub-byte integer types have no safetensors code" for n in range(1, 8)},
}

#: torch storage class name -> the torch dtype of its elements.
STORAGE_DTYPES: dict[str, str] = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    # UntypedStorage holds bytes; _rebuild_tensor_v3 names the dtype separately.
    "UntypedStorage": "uint8",
}
STORAGE_ITEMSIZE: dict[str, int] = {"ComplexDoubleStorage": 16}
#: Quantized storages: recognised, refused.
QUANTIZED_STORAGES = frozenset(
    {"QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage"}
)
STORAGE_MODULES = frozenset({"torch", "torch.cuda", "torch.storage"})

#: safetensors header order: tensors sort by this rank, then by name (UTF-8 bytes).
#: It is the Rust reference's dtype order, widest alignment first (convert.md §3.2).
HEADER_ORDER = (
    "U64",
    "I64",
    "F64",
    "C64",
    "F32",
    "U32",
    "I32",
    "BF16",
    "F16",
    "U16",
    "I16",
    "F8_E5M2FNUZ",
    "F8_E4M3FNUZ",
    "F8_E8M0",
    "F8_E4M3",
    "F8_E5M2",
    "I8",
    "U8",
    "F6_E3M2",
    "F6_E2M3",
    "F4",
    "BOOL",
)
HEADER_RANK = {code: index for index, code in enumerate(HEADER_ORDER)}

#: numpy kind+size (``f4``, ``u2``...) -> safetensors code, for plain little/big-endian arrays.
NUMPY_CODES: dict[str, str] = {
    "f8": "F64",
    "f4": "F32",
    "f2": "F16",
    "i8": "I64",
    "i4": "I32",
    "i2": "I16",
    "i1": "I8",
    "u8": "U64",
    "u4": "U32",
    "u2": "U16",
    "u1": "U8",
    "b1": "BOOL",
    "c8": "C64",
}
REFUSED_NUMPY: dict[str, str] = {
    "c16": "safetensors has no complex128 type",
    "f16": "safetensors has no float128/longdouble type",
    "f12": "safetensors has no longdouble type",
    "c32": "safetensors has no complex256 type",
    "c24": "safetensors has no complex type of this width",
}


class DTypeRefused(Exception):
    """An element type safetensors cannot hold; the message names it and why."""


def torch_dtype(name: str) -> DType:
    """The table entry for a torch dtype name (``float8_e4m3fn``), or DTypeRefused."""
    name = _TORCH_ALIASES.get(name, name)
    found = BY_TORCH_NAME.get(name)
    if found is not None:
        return found
    reason = REFUSED_TORCH_DTYPES.get(name, "unknown dtype")
    raise DTypeRefused(f"torch.{name}: {reason}")


def storage_dtype(storage_class: str) -> DType:
    """The element type of a torch storage class (``FloatStorage``), or DTypeRefused."""
    if storage_class in QUANTIZED_STORAGES:
        raise DTypeRefused(
            f"torch.{storage_class}: quantized tensors have no safetensors representation"
        )
    name = STORAGE_DTYPES.get(storage_class)
    if name is None:
        raise DTypeRefused(f"{storage_class} is not a torch storage type")
    return torch_dtype(name)


def legacy_tensor_storage(name: str) -> str | None:
    """The storage class of a legacy tensor class: ``torch.FloatTensor`` -> ``FloatStorage``."""
    module, _, short = name.rpartition(".")
    if module not in ("torch", "torch.cuda") or not short.endswith("Tensor"):
        return None
    storage_class = short[: -len("Tensor")] + "Storage"
    return storage_class if storage_class in STORAGE_DTYPES else None


def storage_itemsize(storage_class: str) -> int | None:
    """Bytes per element of a storage class (also for the refused ones), None if unknown."""
    if storage_class in STORAGE_ITEMSIZE:
        return STORAGE_ITEMSIZE[storage_class]
    if storage_class in QUANTIZED_STORAGES:
        return 4 if storage_class == "QInt32Storage" else 1
    name = STORAGE_DTYPES.get(storage_class)
    return None if name is None else BY_TORCH_NAME[name].itemsize


def numpy_dtype(descr: str) -> tuple[DType, bool]:
    """(table entry, big-endian?) for a numpy type string such as ``<f4`` or ``|b1``."""
    if not descr or descr[0] not in "<>|=":
        order, body = "=", descr
    else:
        order, body = descr[0], descr[1:]
    code = NUMPY_CODES.get(body)
    if code is None:
        if body.startswith(("O", "V", "S", "U", "M", "m")):
            what = {
                "O": "Python objects",
                "V": "raw void records (ml_dtypes bfloat16/float8 saved by numpy lose their type)",
                "S": "byte strings",
                "U": "text",
                "M": "datetimes",
                "m": "timedeltas",
            }[body[0]]
            raise DTypeRefused(f"numpy dtype {descr!r} holds {what}, not numbers")
        reason = REFUSED_NUMPY.get(body, "no safetensors code")
        raise DTypeRefused(f"numpy dtype {descr!r}: {reason}")
    big = order == ">" and BY_CODE[code].itemsize > 1
    return BY_CODE[code], big
