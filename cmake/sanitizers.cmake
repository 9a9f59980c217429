# BITNET_SANITIZE=address,undefined -> compile and link everything with those sanitizers.
if(BITNET_SANITIZE)
  add_compile_options(-fsanitize=${BITNET_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${BITNET_SANITIZE})
endif()
