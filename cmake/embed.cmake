# Turns a file into a C array definition, so the dashboard is part of the
# binary (no files to install, no CDN). Run as:
#   cmake -DIN=page.html -DOUT=page.inc -DNAME=symbol -P embed.cmake
# OUT holds `static const unsigned char NAME[] = { ..., 0 };` (NUL-terminated;
# sizeof(NAME) - 1 is the file's length), for the one C file that includes it.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* generated from ${IN} by cmake/embed.cmake */\nstatic const unsigned char ${NAME}[] = {\n${bytes}0x00 };\n")
