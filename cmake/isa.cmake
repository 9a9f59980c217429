# Per-ISA translation units: a kernel file's suffix says which instructions it may use, and only
# that file is compiled with those flags. The binary never requires them: kernels are chosen at run
# time after probing the CPU (src/backends/cpu/kernel_select.cpp). No -march=native anywhere.
set(BITNET_ARCH "${CMAKE_SYSTEM_PROCESSOR}")
if(BITNET_ARCH MATCHES "^(x86_64|AMD64|amd64)$")
  set(BITNET_X86 ON)
elseif(BITNET_ARCH MATCHES "^(aarch64|arm64|ARM64)$")
  set(BITNET_ARM64 ON)
endif()

# Test-only: compile the AVX-512 and AMX kernels against SIMDe's emulation (Debian libsimde-dev; the
# AMX tile instructions in plain C++, x86/simd_amx.h) so the op suite exercises them on CPUs without
# AVX-512 or AMX. Never for release binaries (it is slow).
option(BITNET_AVX512_EMULATION "Emulate the AVX-512 kernels with SIMDe (tests only)" OFF)
if(BITNET_AVX512_EMULATION)
  add_compile_definitions(BITNET_AVX512_EMULATED=1)
endif()

function(bitnet_isa_flags_for_file file out_var)
  get_filename_component(name ${file} NAME_WE)
  set(flags "")
  if(name MATCHES "_avx512vnni$|_avx512$|_avx512bw$|_avx512vbmi$|_amx$" AND BITNET_AVX512_EMULATION)
    set(flags -mavx2 -mfma -mf16c -mbmi2 -DBITNET_SIMDE_AVX512=1)
  elseif(name MATCHES "_amx$")
    set(flags -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vbmi -mavx2 -mfma -mf16c -mbmi2
              -mamx-tile -mamx-int8)
  elseif(name MATCHES "_avx512vnni$|_avx512$|_avx512bw$|_avx512vbmi$")
    set(flags -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vbmi -mavx2 -mfma -mf16c -mbmi2)
  elseif(name MATCHES "_avxvnni$")
    set(flags -mavx2 -mfma -mf16c -mavxvnni)
  elseif(name MATCHES "_avx2$")
    set(flags -mavx2 -mfma -mf16c -mbmi2)
  elseif(name MATCHES "_neoni8mm$")
    set(flags -march=armv8.2-a+dotprod+i8mm+fp16)
  elseif(name MATCHES "_neondot$")
    set(flags -march=armv8.2-a+dotprod+fp16)
  endif()
  set(${out_var} "${flags}" PARENT_SCOPE)
endfunction()

# Adds per-ISA sources that fit this target architecture to `target`, with their flags.
function(bitnet_add_isa_sources target)
  foreach(f ${ARGN})
    if(f MATCHES "/x86/" AND NOT BITNET_X86)
      continue()
    endif()
    if(f MATCHES "/arm/" AND NOT BITNET_ARM64)
      continue()
    endif()
    bitnet_isa_flags_for_file(${f} flags)
    target_sources(${target} PRIVATE ${f})
    if(flags)
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${flags}")
    endif()
  endforeach()
endfunction()
