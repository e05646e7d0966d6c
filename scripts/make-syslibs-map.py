#!/usr/bin/env python3
"""Write src/debwheels/data/syslibs.toml: which Debian package provides what a Python C extension builds against.

For each wanted C header, program, pkg-config module and shared library (the lists below) this
looks the file up in Debian's own Contents indices of ``main`` for every suite in ``SUITES``,
and picks the package a Debian packager would put in Build-Depends:

* a header ``X`` matches ``usr/include/X``, ``usr/include/<triplet>/X`` and the same one or two
  directories deeper (``usr/include/postgresql/libpq-fe.h``: the directory a ``-I`` flag or
  pkg-config adds); the shallowest matches win;
* a program matches ``usr/bin``, ``bin``, ``usr/sbin`` and ``sbin``; a pkg-config module
  ``M`` matches ``usr/lib/<triplet>/pkgconfig/M.pc``, ``usr/lib/pkgconfig/M.pc`` and
  ``usr/share/pkgconfig/M.pc``; a library matches ``usr/lib/<triplet>/`` and ``lib/<triplet>/``;
* when exactly one package ships the shallowest match, it is the answer. Otherwise the entry
  must name its choice (``prefer``, with the reason beside it), and the choice must ship the
  file or depend on (``Depends``, up to three levels, from the Packages index) a package
  that does: ``default-libmysqlclient-dev`` ships no header itself but depends on the
  MariaDB package that does. An ambiguity without a choice stops the script: nothing is guessed.

The known PyPI projects (``PROJECTS``) name the evidence their build (or, for projects that
load a library with ctypes or cffi at run time, their runtime) needs; their Debian packages
are resolved from the same lookups, per suite, so a renamed package (the t64 transition of
trixie, libldap2-dev) shows up by itself.

The indices are checked before use: ``InRelease`` is verified with gpgv against Debian's
archive keyring (debian-archive-keyring) and each index against the SHA256 it lists.
Downloads only Debian's index files (no code). Usage::

    python3 scripts/make-syslibs-map.py [--cache DIR] [--output src/debwheels/data/syslibs.toml]

Formats: Contents indices (https://wiki.debian.org/DebianRepository/Format#A.22Contents.22_indices:
one line per file, the path then whitespace then comma-separated ``[area/]section/package``),
Packages and InRelease (deb822 paragraphs, the same page).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
SUITES = ("bookworm", "trixie")
ARCH = "amd64"
TRIPLET = "x86_64-linux-gnu"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
INDICES = ("main/Contents-amd64.gz", "main/Contents-all.gz", "main/binary-amd64/Packages.xz")
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src" / "debwheels" / "data" / "syslibs.toml"


@dataclass(frozen=True)
class Want:
    """One wanted file: *name* as a build names it; *prefer*: the chosen packages, first valid wins."""

    name: str
    prefer: tuple[str, ...] = ()
    why: str = ""


def w(name: str, *prefer: str, why: str = "") -> Want:
    return Want(name, prefer, why)


# Packager's picks used more than once.
MYSQL = ("default-libmysqlclient-dev",)  # Debian's virtual MySQL client dev package (MariaDB's libmariadb-dev-compat)
CURL = ("libcurl4-openssl-dev",)  # the OpenSSL flavour, as most packages build-depend on
KRB5 = ("libkrb5-dev",)  # MIT Kerberos, Debian's default (not heimdal-dev)
JPEG = ("libjpeg-dev",)  # the virtual name Build-Depends use (libjpeg62-turbo-dev ships the files)
BLAS = ("libopenblas-dev", "libblas-dev")
GL = ("libgl-dev",)

# Not here, as Contents cannot show them: files made at install time by update-alternatives
# (openblas.pc, blas.pc, lapack.pc, hdf5.pc, mpicc, Open MPI's mpi.h), directory links
# (mysql/mysql.h), and tools Debian no longer ships (freetype-config, gpgme-config,
# gpg-error-config, icu-config, odbc_config).
HEADERS: tuple[Want, ...] = (
    # Python itself
    w("Python.h", "python3-dev", why="the default Python's headers, not one versioned libpython3.X-dev"),
    # databases
    w("libpq-fe.h", "libpq-dev", why="the client library, not postgresql-server-dev-NN"),
    w("pg_config.h", "libpq-dev"),
    w("mysql.h", *MYSQL),
    w("mariadb/mysql.h", "libmariadb-dev"),
    w("sqlite3.h"),
    w("sql.h", "unixodbc-dev", why="unixODBC, Debian's default ODBC (not iODBC)"),
    w("sqlext.h", "unixodbc-dev"),
    w("sybfront.h", "freetds-dev"),
    w("lmdb.h"),
    w("db.h", "libdb-dev", why="Berkeley DB's default version"),
    w("gdbm.h"),
    w("hiredis/hiredis.h", "libhiredis-dev", why="hiredis itself, not hiredict's shims"),
    w("libmemcached/memcached.h"),
    w("librdkafka/rdkafka.h"),
    w("amqp.h", "librabbitmq-dev"),
    w("leveldb/db.h"),
    w("rocksdb/c.h"),
    w("ibase.h"),
    # XML, text, formats
    w("libxml/xmlversion.h", "libxml2-dev"),
    w("libxml/parser.h", "libxml2-dev"),
    w("libxslt/xslt.h", "libxslt1-dev"),
    w("libxslt/xsltconfig.h", "libxslt1-dev"),
    w("libexslt/exslt.h", "libxslt1-dev"),
    w("expat.h", "libexpat1-dev"),
    w("xmlsec/xmlsec.h", "libxmlsec1-dev"),
    w("yaml.h"),
    w("jansson.h"),
    w("json-c/json.h"),
    w("yajl/yajl_parse.h"),
    w("pcre.h", "libpcre3-dev"),
    w("pcre2.h", "libpcre2-dev"),
    w("re2/re2.h"),
    w("magic.h"),
    w("unicode/utypes.h", "libicu-dev"),
    w("unicode/ucol.h", "libicu-dev"),
    w("hunspell/hunspell.h"),
    w("hunspell.h", "libhunspell-dev"),
    w("aspell.h"),
    w("enchant.h", "libenchant-2-dev"),
    w("libstemmer.h"),
    w("mecab.h"),
    w("uchardet.h"),
    w("tidy.h", "libtidy-dev"),
    w("libxml++/libxml++.h", "libxml++2.6-dev"),
    # terminals and shells
    w("readline/readline.h"),
    w("ncurses.h", "libncurses-dev"),
    w("curses.h", "libncurses-dev"),
    w("term.h", "libncurses-dev"),
    w("editline/readline.h", "libedit-dev"),
    # compression and archives
    w("zlib.h"),
    w("bzlib.h"),
    w("lzma.h"),
    w("zstd.h"),
    w("lz4.h"),
    w("lz4frame.h"),
    w("snappy-c.h"),
    w("brotli/decode.h"),
    w("lzo/lzo1x.h"),
    w("blosc.h"),
    w("archive.h"),
    w("zip.h", "libzip-dev"),
    # cryptography and security
    w("openssl/ssl.h", "libssl-dev", why="OpenSSL 3, not libssl1.1-compat or wolfSSL's compatibility layer"),
    w("openssl/opensslv.h", "libssl-dev"),
    w("openssl/evp.h", "libssl-dev"),
    w("sodium.h"),
    w("gcrypt.h"),
    w("gpg-error.h"),
    w("gpgme.h"),
    w("gnutls/gnutls.h"),
    w("nettle/nettle-meta.h", "nettle-dev"),
    w("argon2.h", "libargon2-dev"),
    w("secp256k1.h", "libsecp256k1-dev"),
    w("krb5.h", *KRB5),
    w("krb5/krb5.h", *KRB5),
    w("gssapi/gssapi.h", *KRB5),
    w("gssapi/gssapi_krb5.h", *KRB5),
    w("gssapi.h", *KRB5),
    w("com_err.h", "comerr-dev"),
    w("ldap.h"),
    w("lber.h"),
    w("sasl/sasl.h", "libsasl2-dev"),
    w("security/pam_appl.h", "libpam0g-dev"),
    w("security/pam_modules.h", "libpam0g-dev"),
    w("keyutils.h"),
    w("PCSC/winscard.h", "libpcsclite-dev"),
    w("winscard.h", "libpcsclite-dev"),
    w("libssh/libssh.h", "libssh-dev"),
    w("libssh2.h"),
    w("tss2/tss2_esys.h"),
    w("libcryptsetup.h"),
    w("seccomp.h"),
    w("selinux/selinux.h"),
    w("libaudit.h"),
    w("sys/acl.h"),
    w("acl/libacl.h"),
    w("attr/attributes.h", "libattr1-dev"),
    w("sys/capability.h", "libcap-dev"),
    w("cap-ng.h"),
    w("uuid/uuid.h", "uuid-dev"),
    w("uuid.h", "uuid-dev"),
    # images, fonts, graphics
    w("jpeglib.h", *JPEG),
    w("turbojpeg.h"),
    w("png.h", "libpng-dev"),
    w("tiff.h", "libtiff-dev"),
    w("tiffio.h", "libtiff-dev"),
    w("gif_lib.h"),
    w("webp/decode.h"),
    w("openjpeg.h", "libopenjp2-7-dev"),
    w("lcms2.h"),
    w("libimagequant.h"),
    w("raqm.h"),
    w("libheif/heif.h"),
    w("avif/avif.h"),
    w("ft2build.h", "libfreetype-dev"),
    w("fontconfig/fontconfig.h"),
    w("fribidi/fribidi.h"),
    w("fribidi.h", "libfribidi-dev"),
    w("hb.h", "libharfbuzz-dev"),
    w("harfbuzz/hb.h", "libharfbuzz-dev"),
    w("cairo.h", "libcairo2-dev"),
    w("cairo/cairo.h", "libcairo2-dev"),
    w("pango/pango.h"),
    w("librsvg/rsvg.h"),
    w("MagickWand/MagickWand.h", "libmagickwand-dev"),
    w("wand/MagickWand.h", "libmagickwand-dev"),
    w("libexif/exif-data.h"),
    w("GL/gl.h", *GL),
    w("GL/glu.h"),
    w("EGL/egl.h", "libegl-dev"),
    w("X11/Xlib.h"),
    w("xcb/xcb.h"),
    w("SDL2/SDL.h", "libsdl2-dev", why="SDL 2 itself, not sdl2-compat (SDL 3 underneath)"),
    w("SDL.h", "libsdl2-dev"),
    w("SDL_image.h", "libsdl2-image-dev"),
    w("SDL_mixer.h", "libsdl2-mixer-dev"),
    w("SDL_ttf.h", "libsdl2-ttf-dev"),
    w("portmidi.h"),
    w("zbar.h"),
    w("tesseract/capi.h"),
    w("leptonica/allheaders.h"),
    w("allheaders.h", "libleptonica-dev"),
    w("graphviz/cgraph.h"),
    w("poppler/cpp/poppler-document.h"),
    w("vips/vips.h"),
    # audio and video
    w("portaudio.h"),
    w("alsa/asoundlib.h"),
    w("pulse/pulseaudio.h"),
    w("pulse/simple.h"),
    w("sndfile.h"),
    w("samplerate.h"),
    w("mpg123.h"),
    w("jack/jack.h", "libjack-jackd2-dev", why="JACK 2, Debian's default JACK"),
    w("fftw3.h"),
    w("libavcodec/avcodec.h"),
    w("libavformat/avformat.h"),
    w("libswscale/swscale.h"),
    w("vlc/vlc.h"),
    w("espeak-ng/speak_lib.h"),
    # desktop and system services
    w("glib.h", "libglib2.0-dev", why="trixie splits GLib's files; libglib2.0-dev still brings them all"),
    w("glib-object.h", "libglib2.0-dev"),
    w("gio/gio.h", "libglib2.0-dev"),
    w("girepository.h", "libgirepository1.0-dev", why="GObject introspection 1.0 (PyGObject < 3.51)"),
    w("girepository/girepository.h", "libgirepository-2.0-dev", why="GObject introspection 2.0 (PyGObject >= 3.51)"),
    w("gtk/gtk.h", "libgtk-3-dev"),
    w("dbus/dbus.h", "libdbus-1-dev", why="libdbus itself, not the dbus-cpp wrapper"),
    w("systemd/sd-daemon.h"),
    w("systemd/sd-journal.h"),
    w("systemd/sd-login.h"),
    w("libudev.h"),
    w("libusb-1.0/libusb.h"),
    w("libusb.h", "libusb-1.0-0-dev"),
    w("usb.h", "libusb-dev"),
    w("hidapi/hidapi.h"),
    w("bluetooth/bluetooth.h"),
    w("cups/cups.h", "libcups2-dev"),
    w("sane/sane.h", "libsane-dev"),
    w("libsmbclient.h"),
    w("libvirt/libvirt.h"),
    w("augeas.h"),
    w("parted/parted.h"),
    w("blkid/blkid.h"),
    w("libmount/libmount.h"),
    w("fuse.h", "libfuse-dev"),
    w("fuse/fuse.h", "libfuse-dev"),
    w("fuse3/fuse.h"),
    w("apt-pkg/init.h"),
    w("libnotify/notify.h"),
    w("gpiod.h"),
    w("libftdi1/ftdi.h"),
    w("ftdi.h", "libftdi1-dev"),
    w("libevdev/libevdev.h"),
    w("linux/i2c-dev.h", "linux-libc-dev"),
    w("xenctrl.h"),
    w("rpm/rpmlib.h"),
    w("libiptc/libiptc.h"),
    w("libnetfilter_queue/libnetfilter_queue.h"),
    w("pcap.h"),
    w("pcap/pcap.h"),
    w("netlink/netlink.h"),
    w("libnl3/netlink/netlink.h"),
    w("net-snmp/net-snmp-config.h"),
    w("tcl.h", "tcl-dev"),
    w("tk.h", "tk-dev"),
    # networking and messaging
    w("curl/curl.h", *CURL),
    w("zmq.h", "libzmq3-dev"),
    w("uv.h"),
    w("ev.h"),
    w("event2/event.h"),
    w("ares.h"),
    w("nghttp2/nghttp2.h"),
    w("git2.h"),
    w("maxminddb.h"),
    w("GeoIP.h"),
    w("librsync.h"),
    w("mosquitto.h", "libmosquitto-dev"),
    # mathematics and science
    w("gmp.h"),
    w("gmpxx.h"),
    w("mpfr.h"),
    w("mpc.h"),
    w("flint/flint.h"),
    w("gsl/gsl_math.h"),
    w("cblas.h", *BLAS),
    w("lapacke.h"),
    w("hdf5.h", "libhdf5-dev"),
    w("netcdf.h"),
    w("geos_c.h"),
    w("proj.h"),
    w("gdal.h"),
    w("spatialindex/capi/sidx_api.h"),
    w("glpk.h"),
    w("nlopt.h"),
    w("suitesparse/cholmod.h"),
    w("cholmod.h", "libsuitesparse-dev"),
    w("Eigen/Core"),
    w("boost/version.hpp", "libboost-dev"),
    w("boost/python.hpp", "libboost-python-dev"),
    w("pybind11/pybind11.h", "pybind11-dev"),
    w("tbb/tbb.h"),
    w("xxhash.h"),
    w("ffi.h"),
    w("ltdl.h"),
)

PROGRAMS: tuple[Want, ...] = (
    w("pg_config", "libpq-dev"),
    w("xml2-config", "libxml2-dev"),
    w("xslt-config", "libxslt1-dev"),
    w("mysql_config", *MYSQL),
    w("mariadb_config", "libmariadb-dev"),
    w("curl-config", *CURL),
    w("pkg-config", "pkgconf", why="pkgconf is Debian's pkg-config"),
    w("pkgconf", "pkgconf", why="the package that also installs the pkg-config name"),
    w("krb5-config", *KRB5),
    w("gfortran"),
    w("cmake"),
    w("swig"),
    w("meson"),
    w("ninja", "ninja-build"),
    w("cython3", "cython3"),
    w("libgcrypt-config", "libgcrypt20-dev"),
    w("pcre-config", "libpcre3-dev"),
    w("pcre2-config", "libpcre2-dev"),
    w("net-snmp-config", "libsnmp-dev"),
    w("xmlsec1-config", "libxmlsec1-dev"),
    w("xmlsec1"),
    w("python3-config", "python3-dev"),
    w("gdal-config", "libgdal-dev"),
    w("geos-config", "libgeos-dev"),
    w("nc-config", "libnetcdf-dev"),
    w("h5cc", "libhdf5-dev", "hdf5-helpers"),
    w("sdl2-config", "libsdl2-dev"),
    w("cups-config", "libcups2-dev"),
    w("mecab-config", "libmecab-dev"),
    w("gsl-config", "libgsl-dev"),
    w("ncursesw6-config", "libncurses-dev"),
    w("proj", "proj-bin"),
    w("llvm-config", "llvm-dev", why="Debian's default LLVM"),
    w("rustc", "rustc", why="not rustc-web (the newer toolchain kept for the web browsers) nor rustup"),
    w("cargo", "cargo", why="not cargo-web nor rustup"),
    w("protoc", "protobuf-compiler"),
    w("nasm"),
    w("yasm"),
    w("bison", "bison"),
    w("flex", "flex"),
    w("gperf"),
    w("patchelf"),
    w("git"),
    w("scons"),
    w("g-ir-scanner", "gobject-introspection", why="the tool package, not libgirepository1.0-dev"),
    w("glib-compile-resources", "libglib2.0-dev-bin"),
    w("msgfmt", "gettext"),
    w("tesseract", "tesseract-ocr"),
    w("pdftoppm", "poppler-utils"),
    w("gpg", "gnupg", why="what python-gnupg runs; the gnupg package brings gpg and its agent"),
    w("wkhtmltopdf"),
    w("xmllint", "libxml2-utils"),
)

PKGCONFIG: tuple[Want, ...] = (
    w("libffi"),
    w("libxml-2.0"),
    w("libxslt"),
    w("libexslt"),
    w("cairo"),
    w("pangocairo"),
    w("pango"),
    w("gobject-introspection-1.0", "libgirepository1.0-dev"),
    w("girepository-2.0"),
    w("glib-2.0", "libglib2.0-dev"),
    w("gobject-2.0", "libglib2.0-dev"),
    w("gio-2.0", "libglib2.0-dev"),
    w("libsystemd"),
    w("dbus-1"),
    w("libzmq", "libzmq3-dev"),
    w("libpq"),
    w("mysqlclient", *MYSQL),
    w("mariadb", *MYSQL),
    w("libmariadb", *MYSQL),
    w("libcurl", *CURL),
    w("openssl", "libssl-dev"),
    w("libssl", "libssl-dev"),
    w("libcrypto", "libssl-dev"),
    w("zlib"),
    w("bzip2"),
    w("liblzma"),
    w("libzstd"),
    w("liblz4"),
    w("snappy"),
    w("libpng", "libpng-dev"),
    w("libjpeg", *JPEG),
    w("libturbojpeg"),
    w("freetype2", "libfreetype-dev"),
    w("fontconfig"),
    w("harfbuzz", "libharfbuzz-dev"),
    w("fribidi"),
    w("lcms2"),
    w("libtiff-4", "libtiff-dev"),
    w("libwebp"),
    w("libopenjp2"),
    w("libheif"),
    w("libavif"),
    w("imagequant"),
    w("raqm"),
    w("xmlsec1", "libxmlsec1-dev"),
    w("xmlsec1-openssl", "libxmlsec1-dev"),
    w("krb5", *KRB5),
    w("krb5-gssapi", *KRB5),
    w("mit-krb5-gssapi", *KRB5),
    w("ldap"),
    w("lber"),
    w("libsasl2"),
    w("sqlite3"),
    w("libsodium"),
    w("libgcrypt"),
    w("gpgme"),
    w("gnutls"),
    w("nettle", "nettle-dev"),
    w("libuv", "libuv1-dev"),
    w("libevent"),
    w("portaudio-2.0", "portaudio19-dev"),
    w("alsa"),
    w("libpulse"),
    w("sndfile"),
    w("samplerate"),
    w("fftw3"),
    w("hdf5-serial", "libhdf5-dev"),
    w("netcdf"),
    w("gsl"),
    w("geos"),
    w("proj"),
    w("gdal"),
    w("python3", "python3-dev"),
    w("python3-embed", "python3-dev"),
    w("libusb-1.0"),
    w("libusb"),
    w("libudev"),
    w("libvirt"),
    w("augeas"),
    w("libcap"),
    w("libseccomp"),
    w("libselinux"),
    w("blkid"),
    w("mount"),
    w("uuid"),
    w("fuse", "libfuse-dev"),
    w("fuse3"),
    w("libarchive"),
    w("libmagic"),
    w("readline"),
    w("ncurses", "libncurses-dev"),
    w("ncursesw", "libncurses-dev"),
    w("libpcre"),
    w("libpcre2-8"),
    w("icu-uc"),
    w("icu-i18n"),
    w("gtk+-3.0"),
    w("libgvc"),
    w("libsecp256k1"),
    w("libxxhash"),
    w("yaml-0.1"),
    w("jansson"),
    w("json-c"),
    w("libnl-3.0"),
    w("libpcap"),
    w("rdkafka"),
    w("librabbitmq"),
    w("hiredis", "libhiredis-dev"),
    w("libmemcached"),
    w("lmdb"),
    w("sane-backends"),
    w("libexif"),
    w("sdl2", "libsdl2-dev"),
    w("SDL2_image"),
    w("SDL2_mixer"),
    w("SDL2_ttf"),
    w("x11"),
    w("xcb"),
    w("gl", *GL),
    w("glu"),
    w("libgpiod"),
    w("libftdi1"),
    w("hidapi-libusb"),
    w("hidapi-hidraw"),
    w("tesseract"),
    w("lept"),
    w("libbrotlidec"),
    w("re2"),
    w("libssh", "libssh-dev", why="the OpenSSL flavour (libssh-gcrypt-dev is the other)"),
    w("libssh2"),
    w("smbclient"),
    w("libparted"),
    w("blosc"),
    w("eigen3"),
    w("pybind11"),
    w("libgit2"),
    w("libxml++-2.6"),
    w("libcryptsetup"),
    w("tss2-esys"),
    w("libmaxminddb"),
    w("libavcodec"),
    w("libavformat"),
    w("vips"),
    w("librsvg-2.0"),
    w("poppler-cpp"),
    w("gmp"),
    w("mpfr"),
    w("libacl"),
    w("expat"),
    w("tidy", "libtidy-dev"),
)

# Libraries named to the linker (``-lNAME``): the unversioned libNAME.so link is in the -dev package.
LINKS: tuple[Want, ...] = (
    w("pq", "libpq-dev"),
    w("xml2"),
    w("xslt"),
    w("exslt"),
    w("ffi"),
    w("yaml"),
    w("ssl", "libssl-dev"),
    w("crypto", "libssl-dev"),
    w("z"),
    w("jpeg", *JPEG),
    w("png", "libpng-dev"),
    w("tiff", "libtiff-dev"),
    w("freetype", "libfreetype-dev"),
    w("lcms2"),
    w("webp"),
    w("openjp2"),
    w("krb5", *KRB5),
    w("gssapi_krb5", *KRB5),
    w("ldap"),
    w("lber"),
    w("sasl2", "libsasl2-dev"),
    w("mariadb", "libmariadb-dev"),
    w("mysqlclient", *MYSQL),
    w("sqlite3"),
    w("bz2"),
    w("lzma"),
    w("zstd"),
    w("lz4"),
    w("snappy"),
    w("systemd"),
    w("dbus-1", "libdbus-1-dev"),
    w("glib-2.0", "libglib2.0-dev"),
    w("gobject-2.0", "libglib2.0-dev"),
    w("cairo", "libcairo2-dev"),
    w("portaudio", "portaudio19-dev"),
    w("odbc", "unixodbc-dev"),
    w("sybdb", "freetds-dev"),
    w("virt"),
    w("xmlsec1", "libxmlsec1-dev"),
    w("zmq", "libzmq3-dev"),
    w("uv", "libuv1-dev"),
    w("gmp"),
    w("mpfr"),
    w("mpc"),
    w("pcre", "libpcre3-dev"),
    w("pcre2-8", "libpcre2-dev"),
    w("magic"),
    w("usb-1.0"),
    w("curl", *CURL),
    w("readline", "libreadline-dev", why="GNU readline, not libedit's compatibility library"),
    w("ncurses", "libncurses-dev"),
    w("ncursesw", "libncurses-dev"),
    w("pam", "libpam0g-dev"),
    w("sodium"),
    w("gcrypt"),
    w("gpgme"),
    w("uuid", "uuid-dev"),
    w("blkid"),
    w("fuse", "libfuse-dev"),
    w("fuse3"),
    w("acl"),
    w("cap", "libcap-dev"),
    w("archive"),
    w("netcdf"),
    w("gsl"),
    w("geos_c"),
    w("proj"),
    w("gdal"),
    w("fftw3"),
    w("sndfile"),
    w("asound"),
    w("pulse"),
    w("git2"),
    w("icuuc", "libicu-dev"),
    w("icui18n", "libicu-dev"),
    w("tesseract"),
    w("lept", "libleptonica-dev"),
    w("smbclient"),
    w("parted"),
    w("apt-pkg"),
    w("cups", "libcups2-dev"),
    w("rdkafka"),
    w("memcached"),
    w("lzo2"),
    w("bluetooth"),
    w("event"),
    w("hiredis", "libhiredis-dev"),
    w("jansson"),
    w("yajl"),
    w("re2"),
    w("expat", "libexpat1-dev"),
    w("gdbm"),
    w("lmdb"),
    w("X11"),
    w("xcb"),
    w("GL", *GL),
    w("SDL2", "libsdl2-dev"),
    w("augeas"),
    w("seccomp"),
    w("selinux"),
    w("mount"),
    w("keyutils"),
    w("xxhash"),
    w("ssh", "libssh-dev"),
    w("ssh2"),
    w("vips"),
)

LIBRARIES: tuple[Want, ...] = (
    w("libpq.so.5"),
    w("libmagic.so.1"),
    w("libcairo.so.2"),
    w("libzbar.so.0"),
    w("libgobject-2.0.so.0"),
    w("libpango-1.0.so.0"),
    w("libpangoft2-1.0.so.0"),
    w("libharfbuzz.so.0"),
    w("libharfbuzz-subset.so.0"),
    w("libfontconfig.so.1"),
    w("libvips.so.42"),
    w("libusb-1.0.so.0"),
    w("libudev.so.1"),
    w("libarchive.so.13"),
    w("libsndfile.so.1"),
    w("libfuse.so.2"),
    w("libspatialindex_c.so.6"),
    w("libspatialindex_c.so.8"),
    w("libpam.so.0"),
    w("libenchant-2.so.2"),
    w("libMagickWand-6.Q16.so.6"),
    w("libMagickWand-7.Q16.so.10"),
    w("libvlc.so.5"),
    w("libportaudio.so.2"),
    w("libgdk_pixbuf-2.0.so.0"),
    w("libsecp256k1.so.1", "libsecp256k1-1"),
    w("libsecp256k1.so.2", "libsecp256k1-2"),
    w("libgeos_c.so.1"),
    w("libdmtx.so.0"),
    w("libhidapi-libusb.so.0"),
    w("libsodium.so.23"),
    w("libcrypto.so.3"),
    w("libssl.so.3"),
    w("libgirepository-1.0.so.1"),
    w("libsystemd.so.0", "libsystemd0", why="not elogind's replacement"),
    w("libzmq.so.5"),
    w("libsqlite3.so.0"),
    w("libgpiod.so.2"),
    w("libgpiod.so.3"),
)


@dataclass(frozen=True)
class Project:
    """A PyPI project's needs: *build* and *runtime* evidence (``kind:name``, ``a|b``: the first one a suite has)."""

    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    note: str = ""


def p(build: str = "", runtime: str = "", note: str = "") -> Project:
    return Project(tuple(build.split()), tuple(runtime.split()), note)


PROGRAM_PKGCONFIG = "program:pkg-config"
PROJECTS: dict[str, Project] = {
    # linked at build time (dpkg-shlibdeps finds the runtime library when the .deb is built)
    "psycopg2": p("program:pg_config header:libpq-fe.h"),
    "psycopg2-binary": p("program:pg_config header:libpq-fe.h", note="built from its sdist like psycopg2"),
    "psycopg-c": p("program:pg_config header:libpq-fe.h", note="psycopg's optional C speed-up (psycopg[c])"),
    "lxml": p("program:xml2-config program:xslt-config header:libxml/xmlversion.h header:libxslt/xslt.h"),
    "mysqlclient": p(f"{PROGRAM_PKGCONFIG} pkgconfig:mysqlclient header:mysql.h"),
    "python-ldap": p("header:ldap.h header:lber.h header:sasl/sasl.h"),
    "pycairo": p(f"{PROGRAM_PKGCONFIG} pkgconfig:cairo"),
    "pygobject": p(
        f"{PROGRAM_PKGCONFIG} pkgconfig:girepository-2.0|pkgconfig:gobject-introspection-1.0 pkgconfig:cairo",
        note="PyGObject 3.51 and later need girepository-2.0 (libgirepository-2.0-dev), which bookworm lacks: "
        "there, only PyGObject 3.50 and older build (with libgirepository1.0-dev)",
    ),
    "dbus-python": p(f"{PROGRAM_PKGCONFIG} pkgconfig:dbus-1 pkgconfig:glib-2.0"),
    "systemd-python": p(f"{PROGRAM_PKGCONFIG} pkgconfig:libsystemd"),
    "gssapi": p("program:krb5-config header:gssapi/gssapi.h"),
    "pykerberos": p("program:krb5-config header:gssapi/gssapi.h"),
    "kerberos": p("program:krb5-config header:gssapi/gssapi.h"),
    "krb5": p("program:krb5-config header:krb5.h"),
    "xmlsec": p(f"{PROGRAM_PKGCONFIG} pkgconfig:xmlsec1 pkgconfig:libxml-2.0 header:libxslt/xslt.h"),
    "pyodbc": p("header:sql.h"),
    "pymssql": p("header:sybfront.h"),
    "python-snappy": p("header:snappy-c.h", note="python-snappy 0.7 and later are pure Python (cramjam)"),
    "pyaudio": p("header:portaudio.h"),
    "pillow": p(
        "header:zlib.h header:jpeglib.h",
        note="optional: libtiff-dev libfreetype-dev liblcms2-dev libwebp-dev libopenjp2-7-dev libimagequant-dev libraqm-dev",
    ),
    "cffi": p("header:ffi.h pkgconfig:libffi"),
    "pyyaml": p("header:yaml.h", note="without it PyYAML builds pure Python, without failing"),
    "gmpy2": p("header:gmp.h header:mpfr.h header:mpc.h"),
    "pycurl": p("program:curl-config header:openssl/ssl.h"),
    "m2crypto": p("program:swig header:openssl/ssl.h"),
    "pyscard": p("program:swig header:PCSC/winscard.h"),
    "pyalsaaudio": p("header:alsa/asoundlib.h"),
    "pybluez": p("header:bluetooth/bluetooth.h"),
    "pylibacl": p("header:sys/acl.h"),
    "python-prctl": p("header:sys/capability.h"),
    "python-lzo": p("header:lzo/lzo1x.h"),
    "pylibmc": p("header:libmemcached/memcached.h"),
    "confluent-kafka": p("header:librdkafka/rdkafka.h", note="needs a librdkafka at least as new as itself"),
    "pyicu": p(f"{PROGRAM_PKGCONFIG} pkgconfig:icu-i18n"),
    "pygraphviz": p("header:graphviz/cgraph.h"),
    "tesserocr": p(f"{PROGRAM_PKGCONFIG} pkgconfig:tesseract pkgconfig:lept"),
    "pyfftw": p("header:fftw3.h"),
    "pygit2": p("header:git2.h", note="each pygit2 release needs one libgit2 release series"),
    "python-apt": p("header:apt-pkg/init.h"),
    "pycups": p("header:cups/cups.h"),
    "pysmbc": p(f"{PROGRAM_PKGCONFIG} pkgconfig:smbclient"),
    "pyparted": p(f"{PROGRAM_PKGCONFIG} pkgconfig:libparted"),
    "libvirt-python": p(f"{PROGRAM_PKGCONFIG} pkgconfig:libvirt"),
    "pyzmq": p("pkgconfig:libzmq header:zmq.h", note="without a system libzmq it tries to download one"),
    "shapely": p("program:geos-config header:geos_c.h", note="Shapely 2; Shapely 1 loads libgeos_c with ctypes"),
    "gdal": p("program:gdal-config", note="the bindings' version must match libgdal-dev's"),
    "h5py": p(
        f"{PROGRAM_PKGCONFIG} header:hdf5.h",
        note="Debian's HDF5 is in /usr/include/hdf5/serial (pkg-config hdf5-serial)",
    ),
    "netcdf4": p("program:nc-config header:netcdf.h header:hdf5.h"),
    "scipy": p(
        f"program:gfortran {PROGRAM_PKGCONFIG} header:cblas.h",
        note="Debian's openblas.pc is an alternatives link made at install time (not in Contents)",
    ),
    "pyfuse3": p(f"{PROGRAM_PKGCONFIG} pkgconfig:fuse3"),
    "llfuse": p(f"{PROGRAM_PKGCONFIG} pkgconfig:fuse"),
    "python-pam": p(runtime="library:libpam.so.0"),
    "uwsgi": p("program:python3-config header:pcre2.h"),
    "pyinotify": p(),  # pure Python on Linux: no entry needed; kept out below
    # loaded with ctypes or cffi at run time (not linked: dpkg-shlibdeps cannot see them)
    "psycopg": p(runtime="library:libpq.so.5", note="psycopg 3 without [c] or [binary] loads libpq with ctypes"),
    "python-magic": p(runtime="library:libmagic.so.1"),
    "cairocffi": p(runtime="library:libcairo.so.2"),
    "pyzbar": p(runtime="library:libzbar.so.0"),
    "weasyprint": p(
        runtime="library:libgobject-2.0.so.0 library:libpango-1.0.so.0 library:libpangoft2-1.0.so.0 "
        "library:libharfbuzz.so.0 library:libharfbuzz-subset.so.0 library:libfontconfig.so.1",
        note="WeasyPrint 53 and later load these with cffi (ABI mode); WeasyPrint 70 can do without harfbuzz-subset",
    ),
    "pyvips": p(runtime="library:libvips.so.42", note="cffi ABI mode when built without libvips-dev"),
    "pyusb": p(runtime="library:libusb-1.0.so.0"),
    "pyudev": p(runtime="library:libudev.so.1"),
    "libarchive-c": p(runtime="library:libarchive.so.13"),
    "soundfile": p(runtime="library:libsndfile.so.1"),
    "fusepy": p(runtime="library:libfuse.so.2"),
    "rtree": p(runtime="library:libspatialindex_c.so.6|library:libspatialindex_c.so.8"),
    "pyenchant": p(runtime="library:libenchant-2.so.2"),
    "wand": p(runtime="library:libMagickWand-6.Q16.so.6|library:libMagickWand-7.Q16.so.10"),
    "python-vlc": p(runtime="library:libvlc.so.5"),
    "pylibdmtx": p(runtime="library:libdmtx.so.0"),
    "pysaml2": p(runtime="program:xmlsec1", note="runs the xmlsec1 program"),
    "pytesseract": p(runtime="program:tesseract", note="runs the tesseract program"),
    "pdf2image": p(runtime="program:pdftoppm", note="runs poppler's pdftoppm"),
    "python-gnupg": p(runtime="program:gpg", note="runs the gpg program"),
    "pdfkit": p(runtime="program:wkhtmltopdf", note="runs the wkhtmltopdf program"),
}
del PROJECTS["pyinotify"]


# ---------------------------------------------------------------------------------------------
# Downloading and checking Debian's indices


def download(url: str, target: Path) -> None:
    """Fetch *url* into *target* (through a temporary sibling)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with urllib.request.urlopen(url, timeout=120) as response, open(partial, "wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)
    partial.rename(target)


def fetch_suite(
    suite: str, cache: Path, allow_unlisted: bool
) -> tuple[dict[str, str], dict[str, Path], list[tuple[str, str]]]:
    """Download and verify *suite*'s InRelease and indices.

    Returns:
        the Release fields, the index paths, and ``(index, sha256 of the file used)`` for each
        index whose digest InRelease does not list (only with *allow_unlisted*: a mirror serving
        an index older than its InRelease).
    """
    base = f"{MIRROR}/dists/{suite}"
    inrelease = cache / suite / "InRelease"
    download(f"{base}/InRelease", inrelease)
    verified = subprocess.run(
        ["gpgv", "--keyring", str(KEYRING), "--output", "-", str(inrelease)],
        capture_output=True,
        check=False,
    )
    if verified.returncode != 0:
        sys.exit(f"{suite}: InRelease does not verify with {KEYRING}: {verified.stderr.decode()[-300:]}")
    release = verified.stdout.decode()
    fields: dict[str, str] = {}
    sha256: dict[str, str] = {}
    section = ""
    for line in release.splitlines():
        if line.startswith(" ") and section == "SHA256":
            digest, _size, name = line.split()
            sha256[name] = digest
        elif ":" in line and not line.startswith(" "):
            section, _, value = line.partition(":")
            fields[section] = value.strip()
    paths: dict[str, Path] = {}
    unlisted: list[tuple[str, str]] = []
    for index in INDICES:
        target = cache / suite / index.replace("/", "_")
        if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha256[index]:
            print(f"downloading {suite}/{index}", file=sys.stderr)
            # by-hash (InRelease says Acquire-By-Hash): the very file this InRelease lists, even while
            # the mirror updates; the plain name when by-hash has no copy of it.
            folder, _, _ = index.rpartition("/")
            try:
                download(f"{base}/{folder}/by-hash/SHA256/{sha256[index]}", target)
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
                download(f"{base}/{index}", target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if digest != sha256[index]:
            if not allow_unlisted:
                sys.exit(f"{suite}: {index} does not match the SHA256 in InRelease (the mirror is updating? try later)")
            print(f"warning: {suite}/{index} is not the one InRelease lists: used all the same", file=sys.stderr)
            unlisted.append((index, digest))
        paths[index] = target
    return fields, paths, unlisted


@dataclass
class Package:
    """One binary package of the Packages index."""

    name: str
    version: str
    depends: list[str] = field(default_factory=list)


def read_packages(path: Path) -> dict[str, Package]:
    """Parse a Packages index (deb822) into packages by name; ``Depends``/``Pre-Depends`` names, all alternatives."""
    packages: dict[str, Package] = {}
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        current: dict[str, str] = {}
        key = ""
        for line in [*handle, "\n"]:
            if line == "\n":
                if "Package" in current:
                    names = []
                    for rel in ("Pre-Depends", "Depends"):
                        for part in re.split(r"[,|]", current.get(rel, "")):
                            name = part.strip().split(" ")[0].split(":")[0]
                            if name:
                                names.append(name)
                    packages[current["Package"]] = Package(current["Package"], current["Version"], names)
                current, key = {}, ""
            elif line[0] in " \t":
                if key:
                    current[key] += line.rstrip("\n")
            else:
                key, _, value = line.partition(":")
                current[key] = value.strip()
    return packages


def candidates(want: str, kind: str) -> list[str]:
    """The Contents paths *want* may have, shallowest first (``{d}``: any one directory)."""
    if kind == "header":
        prefixes = [f"usr/include/{TRIPLET}/", "usr/include/"]
        return [pre + ("{d}/" * depth) + want for depth in range(3) for pre in prefixes]
    if kind == "program":
        return [f"{d}/{want}" for d in ("usr/bin", "bin", "usr/sbin", "sbin")]
    if kind == "pkgconfig":
        return [f"{d}/{want}.pc" for d in (f"usr/lib/{TRIPLET}/pkgconfig", "usr/lib/pkgconfig", "usr/share/pkgconfig")]
    if kind == "link":
        return [f"{d}/lib{want}.so" for d in (f"usr/lib/{TRIPLET}", "usr/lib")]
    if kind == "library":
        return [f"{d}/{want}" for d in (f"usr/lib/{TRIPLET}", f"lib/{TRIPLET}")]
    raise ValueError(kind)


WANTED: dict[str, tuple[Want, ...]] = {
    "header": HEADERS,
    "program": PROGRAMS,
    "pkgconfig": PKGCONFIG,
    "link": LINKS,
    "library": LIBRARIES,
}


def scan_contents(paths: list[Path]) -> dict[tuple[str, str], list[tuple[int, str, list[str]]]]:
    """Find every wanted file in the Contents indices: (kind, name) -> [(depth, path, packages)]."""
    exact: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for kind, wants in WANTED.items():
        for want in wants:
            for rank, pattern in enumerate(candidates(want.name, kind)):
                if "{d}" not in pattern:
                    exact[pattern].append((kind, want.name, rank // 2 if kind == "header" else 0))
    # Headers one or two directories deep: index by the tail after usr/include/[triplet/]{d}/[{d}/].
    headers = {want.name for want in HEADERS}
    found: dict[tuple[str, str], list[tuple[int, str, list[str]]]] = defaultdict(list)
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                file, _, locations = line.rstrip("\n").rpartition(" ")
                file = file.rstrip()
                if not file:
                    continue
                packages = [loc.rsplit("/", 1)[-1] for loc in locations.split(",")]
                for kind, name, depth in exact.get(file, ()):
                    found[(kind, name)].append((depth, file, packages))
                if file.startswith("usr/include/"):
                    rest = file[len("usr/include/") :]
                    if rest.startswith(TRIPLET + "/"):
                        rest = rest[len(TRIPLET) + 1 :]
                    parts = rest.split("/")
                    for depth in (1, 2):
                        tail = "/".join(parts[depth:])
                        if len(parts) > depth and tail in headers:
                            found[("header", tail)].append((depth, file, packages))
    return found


def closure(package: str, packages: dict[str, Package], levels: int = 3) -> set[str]:
    """*package* and what it depends on, *levels* deep."""
    seen = {package}
    frontier = {package}
    for _ in range(levels):
        frontier = {d for name in frontier if name in packages for d in packages[name].depends} - seen
        seen |= frontier
    return seen


@dataclass
class Answer:
    """The chosen package for one wanted file in one suite."""

    package: str
    path: str
    via: str = ""  # the package that ships the file, when *package* only depends on it
    others: list[str] = field(default_factory=list)


def choose(kind: str, want: Want, hits: list[tuple[int, str, list[str]]], packages: dict[str, Package]) -> Answer | str:
    """The answer for *want*, or a string saying why there is none."""
    if not hits:
        return "not in this suite"
    shipping: dict[str, tuple[int, str]] = {}
    for depth, path, names in sorted(hits):
        for name in names:
            shipping.setdefault(name, (depth, path))
    best = min(depth for depth, _ in shipping.values())
    shallow = sorted(name for name, (depth, _) in shipping.items() if depth == best)
    for choice in want.prefer:
        if choice not in packages:
            continue
        if choice in shipping:
            return Answer(choice, "/" + shipping[choice][1], others=sorted(set(shipping) - {choice}))
        reach = closure(choice, packages) & set(shipping)
        if reach:
            via = min(reach, key=lambda name: shipping[name])
            return Answer(choice, "/" + shipping[via][1], via=via, others=sorted(set(shipping) - {via}))
    if want.prefer and not any(choice in packages for choice in want.prefer):
        return f"not in this suite: no package {', '.join(want.prefer)} (shipped only by {', '.join(sorted(shipping))})"
    if want.prefer:
        return f"none of {', '.join(want.prefer)} ships it or depends on what does (shipped by {', '.join(sorted(shipping))})"
    if len(shallow) == 1:
        return Answer(shallow[0], "/" + shipping[shallow[0]][1], others=sorted(set(shipping) - {shallow[0]}))
    return f"AMBIGUOUS: shipped by {', '.join(shallow)}: name the choice (prefer) in the script"


# ---------------------------------------------------------------------------------------------
# Writing the data file (TOML, written by hand: strings quoted as JSON, which TOML accepts)


def q(text: str) -> str:
    return json.dumps(text)


def key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else q(text)


def inline(items: Mapping[str, object]) -> str:
    parts = []
    for name, value in items.items():
        if value in ("", [], None):
            continue
        rendered = "[" + ", ".join(q(v) for v in value) + "]" if isinstance(value, list) else q(str(value))
        parts.append(f"{key(name)} = {rendered}")
    return "{ " + ", ".join(parts) + " }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/debwheels-syslibs-cache"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--allow-unlisted",
        action="store_true",
        help="use an index the signed InRelease does not list (recorded in the output as unverified)",
    )
    args = parser.parse_args()

    releases: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[tuple[str, str], Answer | str]] = {}
    indices: dict[str, dict[str, Package]] = {}
    unverified: dict[str, list[tuple[str, str]]] = {}
    for suite in SUITES:
        fields, paths, unlisted = fetch_suite(suite, args.cache, args.allow_unlisted)
        releases[suite] = fields
        unverified[suite] = unlisted
        print(f"{suite}: reading Packages", file=sys.stderr)
        packages = indices[suite] = read_packages(paths["main/binary-amd64/Packages.xz"])
        print(f"{suite}: scanning Contents", file=sys.stderr)
        found = scan_contents([paths["main/Contents-amd64.gz"], paths["main/Contents-all.gz"]])
        answers[suite] = {
            (kind, want.name): choose(kind, want, found.get((kind, want.name), []), packages)
            for kind, wants in WANTED.items()
            for want in wants
        }

    problems = [
        f"{suite} {kind} {name}: {answer}"
        for suite in SUITES
        for (kind, name), answer in answers[suite].items()
        if isinstance(answer, str) and (answer.startswith("AMBIGUOUS") or answer.startswith("none of"))
    ]
    if problems:
        sys.exit("\n".join(problems))
    lines = [
        "# Which Debian package provides what Python C extensions build against (C headers, programs,",
        "# pkg-config modules), and the shared libraries some projects load with ctypes or cffi at run",
        "# time; and the Debian packages known PyPI projects need to build (and, for those, to run).",
        f"# Generated by scripts/make-syslibs-map.py from Debian's Contents-{ARCH}, Contents-all and",
        "# Packages indices of main (gpgv-verified InRelease) for the suites below. Do not edit: change",
        "# the script and run it again. Read by debwheels.debian.syslibs.",
        "",
        "format = 1",
        f"mirror = {q(MIRROR)}",
        f"suites = [{', '.join(q(s) for s in SUITES)}]",
        f"architecture = {q(ARCH)}",
        "",
    ]
    used: dict[str, set[str]] = {suite: set() for suite in SUITES}
    sections: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    for kind, wants in WANTED.items():
        for want in sorted(wants, key=lambda w: w.name.lower()):
            per_suite = {suite: answers[suite][(kind, want.name)] for suite in SUITES}
            if not any(isinstance(a, Answer) for a in per_suite.values()):
                print(f"skipped {kind} {want.name}: {per_suite}", file=sys.stderr)
                continue
            counts[kind] += 1
            counts["both" if all(isinstance(a, Answer) for a in per_suite.values()) else "one"] += 1
            sections.append(f"[{kind}.{key(want.name)}]")
            if want.why:
                sections.append(f"why = {q(want.why)}")
            for suite, answer in per_suite.items():
                if isinstance(answer, Answer):
                    used[suite].add(answer.package)
                    if answer.via:
                        used[suite].add(answer.via)
                    entry = {"package": answer.package, "path": answer.path, "via": answer.via}
                    sections.append(f"{suite} = {inline(entry)}")
                else:
                    sections.append(f"# {suite}: {answer}")
            sections.append("")
    for name, project in sorted(PROJECTS.items()):
        sections.append(f"[project.{key(name)}]")
        for role in ("build", "runtime"):
            evidence = getattr(project, role)
            if evidence:
                sections.append(f"{role}-evidence = [{', '.join(q(e) for e in evidence)}]")
        if project.note:
            sections.append(f"note = {q(project.note)}")
        for suite in SUITES:
            resolved: dict[str, list[str]] = {"build": [], "runtime": []}
            missing = []
            for role in ("build", "runtime"):
                for evidence in getattr(project, role):
                    resolved_answer: Answer | str = "not in this suite"
                    for alternative in evidence.split("|"):  # the first one this suite has
                        kind, _, name = alternative.partition(":")
                        if (kind, name) not in answers[suite]:
                            raise SystemExit(f"project {name}: {alternative} is not in the wanted lists")
                        resolved_answer = answers[suite][(kind, name)]
                        if isinstance(resolved_answer, Answer):
                            break
                    if isinstance(resolved_answer, Answer):
                        if resolved_answer.package not in resolved[role]:
                            resolved[role].append(resolved_answer.package)
                    else:
                        missing.append(evidence)
            for role in resolved:
                resolved[role].sort()
                used[suite].update(resolved[role])
            sections.append(f"{suite} = {inline({**resolved, 'missing': missing})}")
        counts["project"] += 1
        sections.append("")
    for suite in SUITES:
        fields = releases[suite]
        lines.append(f"[suite.{suite}]")
        lines.append(f"version = {q(fields.get('Version', ''))}")
        lines.append(f"date = {q(fields.get('Date', ''))}")
        if unverified[suite]:
            lines.append("# Not verified: the mirror served these indices with other digests than InRelease lists:")
            used_digests = ", ".join(f"{q(index)} = {q(digest)}" for index, digest in unverified[suite])
            lines.append(f"unverified = {{ {used_digests} }}")
        lines.append("# Every package named below for this suite, with its version in the suite's Packages index.")
        lines.append("[suite." + suite + ".packages]")
        for name in sorted(used[suite]):
            lines.append(f"{key(name)} = {q(indices[suite][name].version)}")
        lines.append("")
    text = "\n".join(lines + sections).rstrip("\n") + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes): {dict(counts)}", file=sys.stderr)


if __name__ == "__main__":
    main()
