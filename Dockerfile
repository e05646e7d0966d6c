# The debwheels builder image. Its only input is rootfs.tar, the Debian rootfs that
# 'debwheels builder' makes with mmdebstrap (SOURCE_DATE_EPOCH set, bit-for-bit
# reproducible); builder-lock.json pins its sha256 and every Debian package version.
# No registry is used: the image starts FROM scratch, as Debian's official images do.
# /build is world-writable (sticky) so that debwheels repro can build as another uid.
FROM scratch
ADD rootfs.tar /
RUN useradd --uid 1000 --user-group --create-home --home-dir /home/builder --shell /bin/bash builder \
 && install -d -m 1777 /build
ENV LC_ALL=C.UTF-8 TZ=UTC
WORKDIR /build
CMD ["/bin/bash"]
