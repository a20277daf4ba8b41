# embed_dir.cmake - turns every file under a directory into bytes in a C
# source (api_assets[], api/assets.h), with its path and an ETag made of
# its SHA-256, so muster-api serves the console without reading files.
# Usage: cmake -DSRC=dir -DOUT=file.c -P embed_dir.cmake
cmake_minimum_required(VERSION 3.25)
file(GLOB_RECURSE files RELATIVE ${SRC} ${SRC}/*)
list(SORT files)
set(out "/* generated from api/console by cmake/embed_dir.cmake; do not edit */\n")
string(APPEND out "#include \"api/assets.h\"\n\n")
set(table "")
set(i 0)
foreach(rel ${files})
  if(rel MATCHES "(^|/)\\." OR rel MATCHES "~$")
    continue() # dotfiles and editor backups stay out
  endif()
  file(READ ${SRC}/${rel} hex HEX)
  file(SHA256 ${SRC}/${rel} sum)
  file(SIZE ${SRC}/${rel} size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND out "static const unsigned char f${i}[] = {${bytes}0x00};\n")
  string(APPEND table "    {\"/${rel}\", f${i}, ${size}, \"\\\"${sum}\\\"\"},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND out "\nconst api_asset api_assets[] = {\n${table}    {0, 0, 0, 0},\n};\n")
string(APPEND out "const size_t api_nassets = ${i};\n")
file(WRITE ${OUT} "${out}")
