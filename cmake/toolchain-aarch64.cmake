# Cross-compiling for 64-bit ARM Linux with Debian's aarch64-linux-gnu toolchain
# (g++-aarch64-linux-gnu) and multiarch arm64 -dev packages (dpkg --add-architecture arm64;
# apt-get install libpcre2-dev:arm64 libgtest-dev:arm64). Header-only dependencies (CLI11,
# nlohmann_json) come from the host. Test binaries run under qemu-aarch64 (scripts/test-arm.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config must see the arm64 .pc files (libpcre2-8), not the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# libstdc++/libgcc linked in; libc and libpcre2 come from the arm64 multiarch dirs at run time.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libstdc++ -static-libgcc")

# Run with the multiarch arm64 loader/libc (/lib/ld-linux-aarch64.so.1, libc6:arm64 comes with the
# packages above). Do not pass qemu -L /usr/aarch64-linux-gnu: mixing that cross loader with the
# multiarch libc found through ld.so.cache hangs in pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu max)
