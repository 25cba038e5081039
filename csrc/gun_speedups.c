/*
 * gun_speedups.c - gun_core._speedups: the accelerator functions whose result is a new
 * Python object, written against the CPython API.
 *
 * Why this module exists next to the CFFI one (gun_core._accel): CFFI cannot hand back
 * a Python object that C created, so a CFFI wrapper has to allocate its result in
 * Python (zero-filled) and then cross into C, which costs a second pass over the output
 * and a slow call. Here the result is allocated uninitialised with
 * PyBytes_FromStringAndSize(NULL, n) and filled by the same C functions of gun_accel.c
 * in one pass, through METH_FASTCALL calls; ws_simple_frames builds gun_core.ws's event
 * objects from whole websocket frames the same way. Only gun_core/accel/_cffi.py imports this
 * module; when it is missing, the CFFI wrappers are used instead. Results are identical
 * to gun_core/accel/pure.py (tests/accel prove it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "gun_accel.h"

static const char KEY_MESSAGE[] = "a websocket masking key is 4 bytes (RFC 6455 5.3)";

/* Export obj's bytes into view (read-only, contiguous). */
static int get_buffer(PyObject *obj, Py_buffer *view)
{
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE);
}

/* offset % 4 as Python computes it (any int, negative or huge), or -1 with an exception. */
static int key_offset(PyObject *obj)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow) {
        PyObject *four = PyLong_FromLong(4);
        PyObject *rem;
        if (four == NULL)
            return -1;
        rem = PyNumber_Remainder(obj, four);
        Py_DECREF(four);
        if (rem == NULL)
            return -1;
        v = PyLong_AsLongLong(rem);
        Py_DECREF(rem);
        if (v == -1 && PyErr_Occurred())
            return -1;
    }
    return (int)(v & 3); /* two's complement: the same as v % 4 in Python for negatives */
}

PyDoc_STRVAR(apply_mask_doc,
             "apply_mask(data, key, offset=0) -> bytes\n\n"
             "XOR data with the 4-byte websocket masking key, starting at key[offset % 4] (RFC 6455 5.3).");

static PyObject *sp_apply_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, key;
    PyObject *out = NULL;
    int offset = 0;
    (void)module;

    if (nargs < 2 || nargs > 3) {
        PyErr_Format(PyExc_TypeError, "apply_mask() takes 2 or 3 arguments (%zd given)", nargs);
        return NULL;
    }
    if (get_buffer(args[0], &data) < 0)
        return NULL;
    if (get_buffer(args[1], &key) < 0)
        goto release_data;
    if (key.len != 4) {
        PyErr_SetString(PyExc_ValueError, KEY_MESSAGE);
        goto release_key;
    }
    if (nargs == 3 && (offset = key_offset(args[2])) < 0)
        goto release_key;
    out = PyBytes_FromStringAndSize(NULL, data.len);
    if (out != NULL && data.len > 0)
        gun_ws_mask((const uint8_t *)data.buf, (size_t)data.len, (const uint8_t *)key.buf, (size_t)offset,
                    (uint8_t *)PyBytes_AS_STRING(out));
release_key:
    PyBuffer_Release(&key);
release_data:
    PyBuffer_Release(&data);
    return out;
}

PyDoc_STRVAR(build_ws_frame_doc,
             "build_ws_frame(opcode_byte, payload, key) -> bytes\n\n"
             "One whole websocket frame: header, then the payload masked with key (or as is for None).");

static PyObject *sp_build_ws_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer payload, key;
    PyObject *out = NULL;
    const uint8_t *key_ptr = NULL;
    long b0;
    size_t size;
    (void)module;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "build_ws_frame() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    b0 = PyLong_AsLong(args[0]);
    if (b0 == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        PyErr_Clear();
        b0 = -1;
    }
    if (b0 < 0 || b0 > 0xFF) {
        PyObject *repr = PyObject_Str(args[0]);
        if (repr != NULL) {
            PyErr_Format(PyExc_ValueError, "the first byte of a websocket frame is 0..255, not %U", repr);
            Py_DECREF(repr);
        }
        return NULL;
    }
    key.obj = NULL;
    if (args[2] != Py_None) {
        if (get_buffer(args[2], &key) < 0)
            return NULL;
        if (key.len != 4) {
            PyErr_SetString(PyExc_ValueError, KEY_MESSAGE);
            PyBuffer_Release(&key);
            return NULL;
        }
        key_ptr = (const uint8_t *)key.buf;
    }
    if (get_buffer(args[1], &payload) < 0)
        goto release_key;
    size = gun_ws_frame_size((size_t)payload.len, key_ptr != NULL);
    if (size > (size_t)PY_SSIZE_T_MAX) {
        PyErr_NoMemory();
        goto release_payload;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (out != NULL)
        gun_ws_build_frame((uint8_t)b0, (const uint8_t *)payload.buf, (size_t)payload.len, key_ptr,
                           (uint8_t *)PyBytes_AS_STRING(out), size);
release_payload:
    PyBuffer_Release(&payload);
release_key:
    if (key_ptr != NULL)
        PyBuffer_Release(&key);
    return out;
}

PyDoc_STRVAR(utf8_feed_doc,
             "utf8_feed(state, data) -> int\n\n"
             "Run the UTF-8 DFA (RFC 3629 4) over data from state; return the new state.");

static PyObject *sp_utf8_feed(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data;
    unsigned long state;
    (void)module;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "utf8_feed() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    state = PyLong_AsUnsignedLong(args[0]);
    if (state == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (state > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_ValueError, "a UTF-8 validator state fits in 32 bits");
        return NULL;
    }
    if (get_buffer(args[1], &data) < 0)
        return NULL;
    if (data.len > 0)
        state = gun_utf8_feed((uint32_t)state, (const uint8_t *)data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(state);
}

/* ---- whole websocket messages, straight to event objects (gun_core.ws's hot path) ---------
 *
 * ws_event_types(Ws, Text, Binary) hands over the three classes once: slotted dataclasses whose
 * slots are Ws.stream_id, Ws.frame, Text.data and Binary.data. ws_simple_frames then builds
 * their instances as their generated __init__ would (allocate, fill the slots), without a
 * Python-level call per object. */
static PyTypeObject *ws_cls, *text_cls, *binary_cls;
static Py_ssize_t ws_sid_off, ws_frame_off, text_data_off, binary_data_off;

#ifndef Py_T_OBJECT_EX
#include "structmember.h"
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* The offset of the object slot `name` of `cls`, or -1 with an exception. */
static Py_ssize_t slot_offset(PyTypeObject *cls, const char *name)
{
    PyObject *descr = PyDict_GetItemString(cls->tp_dict, name); /* borrowed */
    PyMemberDef *member;

    if (descr == NULL || !PyObject_TypeCheck(descr, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s has no slot %s", cls->tp_name, name);
        return -1;
    }
    member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != Py_T_OBJECT_EX || member->offset < (Py_ssize_t)sizeof(PyObject) ||
        member->offset > cls->tp_basicsize - (Py_ssize_t)sizeof(PyObject *)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", cls->tp_name, name);
        return -1;
    }
    return member->offset;
}

PyDoc_STRVAR(ws_event_types_doc,
             "ws_event_types(Ws, Text, Binary) -> None\n\n"
             "The classes ws_simple_frames builds (slotted: Ws.stream_id, Ws.frame, Text.data, Binary.data).");

static PyObject *sp_ws_event_types(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t offs[4];
    int i;
    (void)module;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "ws_event_types() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    for (i = 0; i < 3; i++) {
        if (!PyType_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "ws_event_types() takes three classes");
            return NULL;
        }
    }
    if ((offs[0] = slot_offset((PyTypeObject *)args[0], "stream_id")) < 0 ||
        (offs[1] = slot_offset((PyTypeObject *)args[0], "frame")) < 0 ||
        (offs[2] = slot_offset((PyTypeObject *)args[1], "data")) < 0 ||
        (offs[3] = slot_offset((PyTypeObject *)args[2], "data")) < 0)
        return NULL;
    Py_INCREF(args[0]);
    Py_INCREF(args[1]);
    Py_INCREF(args[2]);
    Py_XSETREF(ws_cls, (PyTypeObject *)args[0]);
    Py_XSETREF(text_cls, (PyTypeObject *)args[1]);
    Py_XSETREF(binary_cls, (PyTypeObject *)args[2]);
    ws_sid_off = offs[0];
    ws_frame_off = offs[1];
    text_data_off = offs[2];
    binary_data_off = offs[3];
    Py_RETURN_NONE;
}

/* A new instance of cls with the slot at `off` set to `value` (stolen), or NULL. */
static PyObject *new_with_slot(PyTypeObject *cls, Py_ssize_t off, PyObject *value)
{
    PyObject *obj = cls->tp_alloc(cls, 0);
    if (obj == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    *(PyObject **)((char *)obj + off) = value;
    return obj;
}

/* ------------------------------------------------------------------------------------------ */
/* MaskKeys(size=4096): fresh 4-byte websocket masking keys from a block of os.urandom bytes,  */
/* refilled when used up (the pure twin, gun_core.accel.pure.MaskKeys, says more). next() is   */
/* on the path of every message a client sends.                                                */

typedef struct {
    PyObject_HEAD
    PyObject *block; /* bytes of `size` random bytes */
    Py_ssize_t pos;
    Py_ssize_t size;
} MaskKeysObject;

/* A new block of `size` bytes from os.urandom (looked up at each fill, as the pure twin does:
 * once per size / 4 keys). */
static PyObject *mask_keys_fill(Py_ssize_t size)
{
    PyObject *block, *os = PyImport_ImportModule("os");
    if (os == NULL)
        return NULL;
    block = PyObject_CallMethod(os, "urandom", "n", size);
    Py_DECREF(os);
    if (block != NULL && (!PyBytes_Check(block) || PyBytes_GET_SIZE(block) != size)) {
        Py_DECREF(block);
        PyErr_SetString(PyExc_RuntimeError, "os.urandom returned the wrong number of bytes");
        return NULL;
    }
    return block;
}

static PyObject *mask_keys_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Py_ssize_t size = 4096;
    MaskKeysObject *self;
    static char *kwlist[] = {"size", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n:MaskKeys", kwlist, &size))
        return NULL;
    if (size < 4 || size % 4) {
        PyErr_SetString(PyExc_ValueError, "the key block size must be a positive multiple of 4");
        return NULL;
    }
    self = (MaskKeysObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->block = mask_keys_fill(size);
    if (self->block == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->pos = 0;
    self->size = size;
    return (PyObject *)self;
}

static void mask_keys_dealloc(MaskKeysObject *self)
{
    Py_XDECREF(self->block);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *mask_keys_next(MaskKeysObject *self, PyObject *unused)
{
    (void)unused;
    if (self->pos >= self->size) {
        PyObject *block = mask_keys_fill(self->size);
        if (block == NULL)
            return NULL;
        Py_SETREF(self->block, block);
        self->pos = 0;
    }
    self->pos += 4;
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(self->block) + self->pos - 4, 4);
}

static PyMethodDef mask_keys_methods[] = {
    {"next", (PyCFunction)mask_keys_next, METH_NOARGS, "next() -> bytes\n\nA fresh key; no key is ever handed out twice."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject MaskKeysType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gun_core._speedups.MaskKeys",
    .tp_basicsize = sizeof(MaskKeysObject),
    .tp_dealloc = (destructor)mask_keys_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MaskKeys(size=4096): fresh 4-byte masking keys from a block of os.urandom bytes.",
    .tp_methods = mask_keys_methods,
    .tp_new = mask_keys_new,
};

/* ------------------------------------------------------------------------------------------ */
/* slot_builder(cls, names): a callable that makes an instance of cls with those object slots  */
/* set from its arguments, in order, without calling __init__ (the pure twin says more). It is */
/* how the drivers make their hot messages (GunWs, GunData, GunResponse), frozen dataclasses   */
/* whose generated __init__ would set each field through object.__setattr__.                   */

#define SLOT_BUILDER_MAX 8

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t n;
    Py_ssize_t offs[SLOT_BUILDER_MAX];
} SlotBuilderObject;

static PyObject *slot_builder_vectorcall(SlotBuilderObject *self, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
{
    Py_ssize_t i, nargs = PyVectorcall_NARGS(nargsf);
    PyObject *obj;

    if (nargs != self->n || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_Format(PyExc_TypeError, "the %s builder takes %zd positional arguments (%zd given)", self->cls->tp_name,
                     self->n, nargs);
        return NULL;
    }
    obj = self->cls->tp_alloc(self->cls, 0);
    if (obj == NULL)
        return NULL;
    for (i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        *(PyObject **)((char *)obj + self->offs[i]) = args[i];
    }
    return obj;
}

static void slot_builder_dealloc(SlotBuilderObject *self)
{
    Py_XDECREF(self->cls);
    PyObject_Free(self);
}

static PyTypeObject SlotBuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gun_core._speedups.SlotBuilder",
    .tp_basicsize = sizeof(SlotBuilderObject),
    .tp_dealloc = (destructor)slot_builder_dealloc,
    .tp_vectorcall_offset = offsetof(SlotBuilderObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "What slot_builder(cls, names) returns: call it with one value per name.",
};

PyDoc_STRVAR(slot_builder_doc, "slot_builder(cls, names) -> callable\n\n"
                               "A callable that makes an instance of cls (whose __new__ is object's) with the\n"
                               "object slots `names` set from its positional arguments, without __init__.");

static PyObject *sp_slot_builder(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyTypeObject *cls;
    PyObject *names;
    SlotBuilderObject *self;
    Py_ssize_t i, n;
    (void)module;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "slot_builder() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyType_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "slot_builder() takes a class and a tuple of slot names");
        return NULL;
    }
    cls = (PyTypeObject *)args[0];
    names = args[1];
    n = PyTuple_GET_SIZE(names);
    if (n > SLOT_BUILDER_MAX) {
        PyErr_Format(PyExc_ValueError, "slot_builder() sets at most %d slots, not %zd", SLOT_BUILDER_MAX, n);
        return NULL;
    }
    if (cls->tp_new != PyBaseObject_Type.tp_new) {
        PyErr_Format(PyExc_TypeError, "%s has its own __new__: slot_builder() cannot make it", cls->tp_name);
        return NULL;
    }
    self = PyObject_New(SlotBuilderObject, &SlotBuilderType);
    if (self == NULL)
        return NULL;
    self->vectorcall = (vectorcallfunc)slot_builder_vectorcall;
    self->cls = NULL;
    self->n = n;
    for (i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        const char *s;
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "slot_builder() takes a class and a tuple of slot names");
            Py_DECREF(self);
            return NULL;
        }
        s = PyUnicode_AsUTF8(name);
        if (s == NULL || (self->offs[i] = slot_offset(cls, s)) < 0) {
            Py_DECREF(self);
            return NULL;
        }
    }
    Py_INCREF(cls);
    self->cls = cls;
    return (PyObject *)self;
}

PyDoc_STRVAR(ws_simple_frames_doc,
             "ws_simple_frames(buf, pos, limit, stream_id, events) -> int\n\n"
             "Append a Ws event for each whole unfragmented, unmasked, uncompressed text or binary\n"
             "frame from buf[pos] on (payload at most limit bytes, text valid UTF-8); return where\n"
             "the first frame it does not take starts.");

static PyObject *sp_ws_simple_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const uint8_t *b;
    Py_ssize_t end, pos, limit;
    PyObject *events;
    (void)module;

    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "ws_simple_frames() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyBytes_CheckExact(args[0]) || !PyList_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "ws_simple_frames() takes bytes and a list");
        return NULL;
    }
    if (ws_cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ws_simple_frames() before ws_event_types()");
        return NULL;
    }
    b = (const uint8_t *)PyBytes_AS_STRING(args[0]);
    end = PyBytes_GET_SIZE(args[0]);
    pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (pos < 0 || pos > end) {
        PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        return NULL;
    }
    limit = PyLong_AsSsize_t(args[2]);
    if (limit == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        PyErr_Clear(); /* larger than any buffer: no limit */
        limit = PY_SSIZE_T_MAX;
    }
    events = args[4];
    while (end - pos >= 2) {
        uint8_t b0 = b[pos], b1 = b[pos + 1];
        uint64_t length = b1;
        Py_ssize_t start = pos + 2;
        PyObject *data, *frame, *event;
        int rc;

        if ((b0 != 0x81 && b0 != 0x82) || (b1 & 0x80)) /* FIN, no RSV, text/binary; unmasked */
            break;
        if (length == 126) {
            if (end - pos < 4)
                break;
            length = ((uint64_t)b[pos + 2] << 8) | b[pos + 3];
            start = pos + 4;
        }
        else if (length == 127) {
            int i;
            if (end - pos < 10)
                break;
            length = 0;
            for (i = 2; i < 10; i++)
                length = (length << 8) | b[pos + i];
            start = pos + 10;
        }
        if (limit < 0 || length > (uint64_t)limit || length > (uint64_t)(end - start))
            break;
        if (b0 == 0x81) {
            data = PyUnicode_DecodeUTF8((const char *)b + start, (Py_ssize_t)length, "strict");
            if (data == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                    return NULL;
                PyErr_Clear(); /* the caller fails the connection for it */
                break;
            }
            frame = new_with_slot(text_cls, text_data_off, data);
        }
        else {
            data = PyBytes_FromStringAndSize((const char *)b + start, (Py_ssize_t)length);
            if (data == NULL)
                return NULL;
            frame = new_with_slot(binary_cls, binary_data_off, data);
        }
        if (frame == NULL)
            return NULL;
        event = ws_cls->tp_alloc(ws_cls, 0);
        if (event == NULL) {
            Py_DECREF(frame);
            return NULL;
        }
        Py_INCREF(args[3]);
        *(PyObject **)((char *)event + ws_sid_off) = args[3];
        *(PyObject **)((char *)event + ws_frame_off) = frame;
        rc = PyList_Append(events, event);
        Py_DECREF(event);
        if (rc < 0)
            return NULL;
        pos = start + (Py_ssize_t)length;
    }
    return PyLong_FromSsize_t(pos);
}

/* Filler: a new bytes object of n bytes, exported as a writable buffer until take() hands it
 * over. It lets a driver receive a body straight into the bytes it returns (socket.recv_into a
 * memoryview of the Filler), with no copy at the end. The bytes object is seen by no one but
 * the Filler until take(), which refuses while a view is open, so it is complete and never
 * changes once anyone holds it. */
#define FILLER_HUGE_PAGE ((uintptr_t)2 << 20)
#define FILLER_HUGE_MIN ((Py_ssize_t)4 << 20)

typedef struct {
    PyObject_HEAD
    PyObject *bytes; /* NULL once taken */
    Py_ssize_t exports;
} FillerObject;

static PyObject *filler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Py_ssize_t n;
    FillerObject *self;
    static char *kwlist[] = {"size", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n:Filler", kwlist, &n))
        return NULL;
    /* bytes of length 0 and 1 are shared singletons: never write into those. */
    if (n < 2) {
        PyErr_Format(PyExc_ValueError, "a Filler holds at least 2 bytes, not %zd", n);
        return NULL;
    }
    self = (FillerObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->bytes = PyBytes_FromStringAndSize(NULL, n);
    if (self->bytes == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->exports = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* A large body is written once, front to back, into fresh pages: ask for transparent huge
     * pages over the 2 MiB-aligned middle of it (one page fault per 2 MiB instead of 512).
     * Only a hint: where the kernel does not take it, nothing changes. */
    if (n >= FILLER_HUGE_MIN) {
        uintptr_t start = (uintptr_t)PyBytes_AS_STRING(self->bytes);
        uintptr_t first = (start + FILLER_HUGE_PAGE - 1) & ~(uintptr_t)(FILLER_HUGE_PAGE - 1);
        uintptr_t last = (start + (uintptr_t)n) & ~(uintptr_t)(FILLER_HUGE_PAGE - 1);
        if (last > first)
            (void)madvise((void *)first, (size_t)(last - first), MADV_HUGEPAGE);
    }
#endif
    return (PyObject *)self;
}

static void filler_dealloc(FillerObject *self)
{
    Py_XDECREF(self->bytes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int filler_getbuffer(FillerObject *self, Py_buffer *view, int flags)
{
    if (self->bytes == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Filler's bytes were taken");
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, (PyObject *)self, PyBytes_AS_STRING(self->bytes), PyBytes_GET_SIZE(self->bytes), 0,
                          flags) < 0)
        return -1;
    self->exports++;
    return 0;
}

static void filler_releasebuffer(FillerObject *self, Py_buffer *view)
{
    (void)view;
    self->exports--;
}

static PyObject *filler_take(FillerObject *self, PyObject *unused)
{
    PyObject *out;
    (void)unused;
    if (self->exports > 0) {
        PyErr_SetString(PyExc_BufferError, "a view of the Filler is still open: release it before take()");
        return NULL;
    }
    if (self->bytes == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Filler's bytes were already taken");
        return NULL;
    }
    out = self->bytes;
    self->bytes = NULL;
    return out;
}

static Py_ssize_t filler_len(FillerObject *self)
{
    return self->bytes == NULL ? 0 : PyBytes_GET_SIZE(self->bytes);
}

static PyBufferProcs filler_as_buffer = {
    .bf_getbuffer = (getbufferproc)filler_getbuffer,
    .bf_releasebuffer = (releasebufferproc)filler_releasebuffer,
};

static PySequenceMethods filler_as_sequence = {
    .sq_length = (lenfunc)filler_len,
};

static PyMethodDef filler_methods[] = {
    {"take", (PyCFunction)filler_take, METH_NOARGS,
     "take() -> bytes\n\nThe filled bytes (no copy); no view may be open, and the Filler is empty after."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FillerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gun_core._speedups.Filler",
    .tp_basicsize = sizeof(FillerObject),
    .tp_dealloc = (destructor)filler_dealloc,
    .tp_as_sequence = &filler_as_sequence,
    .tp_as_buffer = &filler_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Filler(size): size new bytes to write through a memoryview, then take() without a copy.",
    .tp_methods = filler_methods,
    .tp_new = filler_new,
};

/* ------------------------------------------------------------------------------------------ */
/* WakeupBase: a one-shot completion a coroutine can await (gun_core.accel.pure.WakeupBase is  */
/* its twin; read the docstrings there).                                                       */
/*                                                                                            */
/* It speaks the protocol an asyncio Task drives any future-like with (the attribute          */
/* _asyncio_future_blocking, get_loop, add_done_callback, result, and awaiting it yields it    */
/* once), so a Task can wait on it; what completes it is up to a subclass (gun_io.aio). The    */
/* methods a Task calls on every wait are here in C; the rare ones (a late callback, a result  */
/* that is not there) call the subclass's _add_late and _result_other.                         */

typedef struct {
    PyObject_HEAD
    PyObject *loop;
    PyObject *result;
    PyObject *callbacks;      /* a list of (fn, context) pairs, or NULL/None */
    PyObject *cancel_message;
    int state;                /* 0 pending, 1 done, 2 cancelled */
    char blocking;            /* _asyncio_future_blocking */
} WakeupObject;

typedef struct {
    PyObject_HEAD
    WakeupObject *w; /* NULL once finished */
    int yielded;
} WakeupIterObject;

static PyTypeObject WakeupType;
static PyTypeObject WakeupIterType;

static PyObject *wakeup_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *loop;
    WakeupObject *self;
    static char *kwlist[] = {"loop", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:WakeupBase", kwlist, &loop))
        return NULL;
    self = (WakeupObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(loop);
    self->loop = loop;
    self->state = 0;
    self->blocking = 0;
    return (PyObject *)self;
}

static int wakeup_traverse(WakeupObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->loop);
    Py_VISIT(self->result);
    Py_VISIT(self->callbacks);
    Py_VISIT(self->cancel_message);
    return 0;
}

static int wakeup_clear(WakeupObject *self)
{
    Py_CLEAR(self->loop);
    Py_CLEAR(self->result);
    Py_CLEAR(self->callbacks);
    Py_CLEAR(self->cancel_message);
    return 0;
}

static void wakeup_dealloc(WakeupObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    wakeup_clear(self);
    tp->tp_free((PyObject *)self);
}

static PyObject *wakeup_get_loop(WakeupObject *self, PyObject *unused)
{
    (void)unused;
    if (self->loop == NULL)
        Py_RETURN_NONE;
    Py_INCREF(self->loop);
    return self->loop;
}

static PyObject *wakeup_done(WakeupObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(self->state != 0);
}

static PyObject *wakeup_cancelled(WakeupObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(self->state == 2);
}

static PyObject *wakeup_result(WakeupObject *self, PyObject *unused)
{
    (void)unused;
    if (self->state == 1) {
        PyObject *r = self->result != NULL ? self->result : Py_None;
        Py_INCREF(r);
        return r;
    }
    return PyObject_CallMethod((PyObject *)self, "_result_other", NULL);
}

static PyObject *wakeup_add_done_callback(WakeupObject *self, PyObject *const *args, Py_ssize_t nargs,
                                          PyObject *kwnames)
{
    PyObject *fn, *context = Py_None, *pair;
    Py_ssize_t i, nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);

    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "add_done_callback() takes 1 positional argument (%zd given)", nargs);
        return NULL;
    }
    for (i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, "context") != 0) {
            PyErr_Format(PyExc_TypeError, "add_done_callback() got an unexpected keyword argument %R", name);
            return NULL;
        }
        context = args[nargs + i];
    }
    fn = args[0];
    if (self->state != 0)
        return PyObject_CallMethod((PyObject *)self, "_add_late", "OO", fn, context);
    pair = PyTuple_Pack(2, fn, context);
    if (pair == NULL)
        return NULL;
    if (self->callbacks == NULL || self->callbacks == Py_None) {
        PyObject *list = PyList_New(1);
        if (list == NULL) {
            Py_DECREF(pair);
            return NULL;
        }
        PyList_SET_ITEM(list, 0, pair); /* steals pair */
        Py_XSETREF(self->callbacks, list);
        Py_RETURN_NONE;
    }
    if (!PyList_Check(self->callbacks)) {
        Py_DECREF(pair);
        PyErr_SetString(PyExc_TypeError, "_callbacks must be a list or None");
        return NULL;
    }
    if (PyList_Append(self->callbacks, pair) < 0) {
        Py_DECREF(pair);
        return NULL;
    }
    Py_DECREF(pair);
    Py_RETURN_NONE;
}

static PyObject *run_name; /* "run", interned */

/* _fire(): take the callbacks and call each now, fn(self) or context.run(fn, self). */
static PyObject *wakeup_fire(WakeupObject *self, PyObject *unused)
{
    PyObject *callbacks = self->callbacks;
    Py_ssize_t i, n;
    (void)unused;

    self->callbacks = NULL;
    if (callbacks == NULL || callbacks == Py_None) {
        Py_XDECREF(callbacks);
        Py_RETURN_NONE;
    }
    if (!PyList_Check(callbacks)) {
        Py_DECREF(callbacks);
        PyErr_SetString(PyExc_TypeError, "_callbacks must be a list or None");
        return NULL;
    }
    n = PyList_GET_SIZE(callbacks);
    for (i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(callbacks, i), *fn, *context, *r;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(callbacks);
            PyErr_SetString(PyExc_TypeError, "_callbacks holds (fn, context) pairs");
            return NULL;
        }
        fn = PyTuple_GET_ITEM(pair, 0);
        context = PyTuple_GET_ITEM(pair, 1);
        if (context == Py_None) {
            r = PyObject_CallOneArg(fn, (PyObject *)self);
        }
        else {
            PyObject *stack[3] = {context, fn, (PyObject *)self};
            if (run_name == NULL && (run_name = PyUnicode_InternFromString("run")) == NULL) {
                Py_DECREF(callbacks);
                return NULL;
            }
            r = PyObject_VectorcallMethod(run_name, stack, 3, NULL);
        }
        if (r == NULL) {
            Py_DECREF(callbacks);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF(callbacks);
    Py_RETURN_NONE;
}

static PyObject *wakeup_await(WakeupObject *self)
{
    WakeupIterObject *it = PyObject_GC_New(WakeupIterObject, &WakeupIterType);
    if (it == NULL)
        return NULL;
    Py_INCREF(self);
    it->w = self;
    it->yielded = 0;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyMemberDef wakeup_members[] = {
    {"_loop", T_OBJECT, offsetof(WakeupObject, loop), 0, NULL},
    {"_result", T_OBJECT, offsetof(WakeupObject, result), 0, NULL},
    {"_callbacks", T_OBJECT, offsetof(WakeupObject, callbacks), 0, NULL},
    {"_cancel_message", T_OBJECT, offsetof(WakeupObject, cancel_message), 0, NULL},
    {"_state", T_INT, offsetof(WakeupObject, state), 0, NULL},
    {"_asyncio_future_blocking", T_BOOL, offsetof(WakeupObject, blocking), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef wakeup_methods[] = {
    {"get_loop", (PyCFunction)wakeup_get_loop, METH_NOARGS, "get_loop() -> the event loop it belongs to"},
    {"done", (PyCFunction)wakeup_done, METH_NOARGS, "done() -> True once completed or cancelled"},
    {"cancelled", (PyCFunction)wakeup_cancelled, METH_NOARGS, "cancelled() -> True once cancelled"},
    {"result", (PyCFunction)wakeup_result, METH_NOARGS,
     "result() -> the result when completed; else what the subclass's _result_other() does"},
    {"_fire", (PyCFunction)wakeup_fire, METH_NOARGS,
     "_fire(): take _callbacks and call each (fn, context) now: fn(self), or context.run(fn, self)"},
    {"add_done_callback", (PyCFunction)(void (*)(void))wakeup_add_done_callback, METH_FASTCALL | METH_KEYWORDS,
     "add_done_callback(fn, *, context=None): keep (fn, context) in _callbacks; once done, _add_late(fn, context)"},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods wakeup_as_async = {
    .am_await = (unaryfunc)wakeup_await,
};

static PyTypeObject WakeupType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gun_core._speedups.WakeupBase",
    .tp_basicsize = sizeof(WakeupObject),
    .tp_dealloc = (destructor)wakeup_dealloc,
    .tp_as_async = &wakeup_as_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "WakeupBase(loop): a one-shot completion a coroutine can await (see gun_core.accel.pure).",
    .tp_traverse = (traverseproc)wakeup_traverse,
    .tp_clear = (inquiry)wakeup_clear,
    .tp_iter = (getiterfunc)wakeup_await,
    .tp_methods = wakeup_methods,
    .tp_members = wakeup_members,
    .tp_new = wakeup_new,
};

/* One step of `await w`: the first yields w (unless it is already complete), the next returns
 * w.result(). PYGEN_NEXT / PYGEN_RETURN / PYGEN_ERROR as am_send wants. */
static PySendResult wakeup_iter_step(WakeupIterObject *it, PyObject **out)
{
    WakeupObject *w = it->w;
    PyObject *r;

    *out = NULL;
    if (w == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse an already awaited wake-up");
        return PYGEN_ERROR;
    }
    if (!it->yielded && w->state == 0) {
        it->yielded = 1;
        w->blocking = 1;
        Py_INCREF(w);
        *out = (PyObject *)w;
        return PYGEN_NEXT;
    }
    it->w = NULL;
    if (w->state == 0) {
        Py_DECREF(w);
        PyErr_SetString(PyExc_RuntimeError, "await wasn't used with future");
        return PYGEN_ERROR;
    }
    r = wakeup_result(w, NULL);
    Py_DECREF(w);
    if (r == NULL)
        return PYGEN_ERROR;
    *out = r;
    return PYGEN_RETURN;
}

static PySendResult wakeup_iter_am_send(WakeupIterObject *it, PyObject *arg, PyObject **out)
{
    (void)arg;
    return wakeup_iter_step(it, out);
}

static PyObject *wakeup_iter_next(WakeupIterObject *it)
{
    PyObject *out;
    PySendResult status = wakeup_iter_step(it, &out);
    if (status == PYGEN_NEXT)
        return out;
    if (status == PYGEN_RETURN) {
        /* The value goes in a StopIteration made with it as the one argument (a tuple
         * passed to PyErr_SetObject would be taken as the argument list). */
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, out);
        Py_DECREF(out);
        if (stop == NULL)
            return NULL;
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *wakeup_iter_send(WakeupIterObject *it, PyObject *arg)
{
    (void)arg;
    return wakeup_iter_next(it);
}

static int wakeup_iter_traverse(WakeupIterObject *it, visitproc visit, void *arg)
{
    Py_VISIT(it->w);
    return 0;
}

static int wakeup_iter_clear(WakeupIterObject *it)
{
    Py_CLEAR(it->w);
    return 0;
}

static void wakeup_iter_dealloc(WakeupIterObject *it)
{
    PyObject_GC_UnTrack(it);
    Py_CLEAR(it->w);
    PyObject_GC_Del(it);
}

static PyMethodDef wakeup_iter_methods[] = {
    {"send", (PyCFunction)wakeup_iter_send, METH_O, "send(value): the next step (the value is ignored)"},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods wakeup_iter_as_async = {
    .am_send = (sendfunc)wakeup_iter_am_send,
};

static PyTypeObject WakeupIterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gun_core._speedups.WakeupIter",
    .tp_basicsize = sizeof(WakeupIterObject),
    .tp_dealloc = (destructor)wakeup_iter_dealloc,
    .tp_as_async = &wakeup_iter_as_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The iterator of `await WakeupBase(...)`.",
    .tp_traverse = (traverseproc)wakeup_iter_traverse,
    .tp_clear = (inquiry)wakeup_iter_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)wakeup_iter_next,
    .tp_methods = wakeup_iter_methods,
};

static PyMethodDef speedups_methods[] = {
    {"apply_mask", (PyCFunction)(void (*)(void))sp_apply_mask, METH_FASTCALL, apply_mask_doc},
    {"build_ws_frame", (PyCFunction)(void (*)(void))sp_build_ws_frame, METH_FASTCALL, build_ws_frame_doc},
    {"utf8_feed", (PyCFunction)(void (*)(void))sp_utf8_feed, METH_FASTCALL, utf8_feed_doc},
    {"ws_event_types", (PyCFunction)(void (*)(void))sp_ws_event_types, METH_FASTCALL, ws_event_types_doc},
    {"ws_simple_frames", (PyCFunction)(void (*)(void))sp_ws_simple_frames, METH_FASTCALL, ws_simple_frames_doc},
    {"slot_builder", (PyCFunction)(void (*)(void))sp_slot_builder, METH_FASTCALL, slot_builder_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "gun_core._speedups",
    "Accelerator functions that return new bytes, for gun_core.accel._cffi (see csrc/gun_speedups.c).",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL)
        return NULL;
    if (PyType_Ready(&FillerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&FillerType);
    if (PyModule_AddObject(m, "Filler", (PyObject *)&FillerType) < 0) {
        Py_DECREF(&FillerType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyType_Ready(&WakeupType) < 0 || PyType_Ready(&WakeupIterType) < 0 || PyType_Ready(&SlotBuilderType) < 0 ||
        PyType_Ready(&MaskKeysType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&MaskKeysType);
    if (PyModule_AddObject(m, "MaskKeys", (PyObject *)&MaskKeysType) < 0) {
        Py_DECREF(&MaskKeysType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&WakeupType);
    if (PyModule_AddObject(m, "WakeupBase", (PyObject *)&WakeupType) < 0) {
        Py_DECREF(&WakeupType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "UTF8_ACCEPT", GUN_UTF8_ACCEPT) < 0 ||
        PyModule_AddIntConstant(m, "UTF8_REJECT", GUN_UTF8_REJECT) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
