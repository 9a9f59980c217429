# Project-wide warning flags (applied to our targets only).
function(bitnet_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
endfunction()
