package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// SparseTar is a tar holding one file, name, in the PAX format 1.0 for
// sparse files (as GNU tar --sparse writes it): size bytes long, zeros
// except for data at the offsets given. The archive is a few kilobytes
// whatever size says.
func SparseTar(name string, size int64, data map[int64]string) ([]byte, error) {
	offsets := make([]int64, 0, len(data))
	for off := range data {
		offsets = append(offsets, off)
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	// The sparse map, in the data section before the data.
	var sparseMap strings.Builder
	fmt.Fprintf(&sparseMap, "%d\n", len(offsets))
	var payload bytes.Buffer
	for _, off := range offsets {
		if off+int64(len(data[off])) > size {
			return nil, fmt.Errorf("testimages: data at %d runs past the file's end", off)
		}
		fmt.Fprintf(&sparseMap, "%d\n%d\n", off, len(data[off]))
		payload.WriteString(data[off])
	}
	body := pad(sparseMap.String()) + payload.String()

	records := map[string]string{
		"GNU.sparse.major":    "1",
		"GNU.sparse.minor":    "0",
		"GNU.sparse.name":     name,
		"GNU.sparse.realsize": strconv.FormatInt(size, 10),
	}
	var pax strings.Builder
	keys := make([]string, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pax.WriteString(paxRecord(k, records[k]))
	}

	var out bytes.Buffer
	xhdr, err := rawHeader(&tar.Header{Name: "PaxHeaders/" + name, Mode: 0o644, Size: int64(pax.Len()), ModTime: Created}, tar.TypeXHeader)
	if err != nil {
		return nil, err
	}
	out.Write(xhdr)
	out.WriteString(pad(pax.String()))
	fhdr, err := rawHeader(&tar.Header{Name: "GNUSparseFile.0/" + name, Mode: 0o644, Size: int64(len(body)), ModTime: Created}, tar.TypeReg)
	if err != nil {
		return nil, err
	}
	out.Write(fhdr)
	out.WriteString(pad(body))
	out.Write(make([]byte, 1024)) // the end of the archive
	return out.Bytes(), nil
}

// WithSparseFile is base plus a layer holding SparseTar's file.
func WithSparseFile(base v1.Image, name string, size int64, data map[int64]string) (v1.Image, error) {
	layer, err := SparseTar(name, size, data)
	if err != nil {
		return nil, err
	}
	return appendLayer(base, layer, "skiff hack/testimages: sparse "+name)
}

// rawHeader is the 512-byte ustar header of hdr with the type flag typ,
// which archive/tar will not write itself (TypeXHeader).
func rawHeader(hdr *tar.Header, typ byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := *hdr
	h.Typeflag = tar.TypeReg
	h.Format = tar.FormatUSTAR
	if err := tw.WriteHeader(&h); err != nil {
		return nil, err
	}
	b := buf.Bytes()[:512]
	b[156] = typ
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b, nil
}

// paxRecord is one "LEN key=value\n" record, LEN counting itself.
func paxRecord(k, v string) string {
	size := len(k) + len(v) + 3 // space, '=', newline
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size { // the length grew a digit
		size = len(rec)
		rec = strconv.Itoa(size) + " " + k + "=" + v + "\n"
	}
	return rec
}

// pad pads s with zeros to a multiple of the 512-byte block.
func pad(s string) string {
	if r := len(s) % 512; r != 0 {
		s += strings.Repeat("\x00", 512-r)
	}
	return s
}
