// Package svgpng turns gantry's SVG pictures into PNG images for tests
// that look at them: shapes through oksvg and rasterx, text through
// x/image with the DejaVu Sans the pictures are measured with (which
// oksvg does not draw). It reads the subset of SVG that dag.WriteSVG
// writes: absolute coordinates, no transforms.
package svgpng

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// FontDir holds DejaVuSans.ttf and DejaVuSans-Bold.ttf (Debian's
// fonts-dejavu-core).
const FontDir = "/usr/share/fonts/truetype/dejavu/"

// ErrNoFont says the fonts are not installed.
var ErrNoFont = errors.New("svgpng: DejaVu Sans is not installed (apt-get install fonts-dejavu-core)")

// Render draws svg at its own size on white.
func Render(svg []byte) (*image.RGBA, error) {
	regular, err := loadFont("DejaVuSans.ttf")
	if err != nil {
		return nil, err
	}
	bold, err := loadFont("DejaVuSans-Bold.ttf")
	if err != nil {
		return nil, err
	}
	icon, err := oksvg.ReadIconStream(bytes.NewReader(svg), oksvg.IgnoreErrorMode)
	if err != nil {
		return nil, fmt.Errorf("svgpng: %w", err)
	}
	w, h := int(icon.ViewBox.W), int(icon.ViewBox.H)
	if w <= 0 || h <= 0 || w > 20000 || h > 20000 {
		return nil, fmt.Errorf("svgpng: size %dx%d", w, h)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	icon.SetTarget(0, 0, float64(w), float64(h))
	icon.Draw(rasterx.NewDasher(w, h, rasterx.NewScannerGV(w, h, img, img.Bounds())), 1)
	if err := drawTexts(img, svg, regular, bold); err != nil {
		return nil, err
	}
	return img, nil
}

func loadFont(name string) (*opentype.Font, error) {
	data, err := os.ReadFile(FontDir + name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFont, err)
	}
	return opentype.Parse(data)
}

// drawTexts draws each <text> element: x and y (its baseline),
// text-anchor, font-size, font-weight and fill.
func drawTexts(img *image.RGBA, svg []byte, regular, bold *opentype.Font) error {
	dec := xml.NewDecoder(bytes.NewReader(svg))
	faces := map[[2]float64]font.Face{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("svgpng: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "text" {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		var s string
		if err := dec.DecodeElement(&s, &se); err != nil {
			return fmt.Errorf("svgpng: %w", err)
		}
		x, _ := strconv.ParseFloat(attr["x"], 64)
		y, _ := strconv.ParseFloat(attr["y"], 64)
		size, err := strconv.ParseFloat(attr["font-size"], 64)
		if err != nil {
			size = 12
		}
		f, isBold := regular, attr["font-weight"] == "bold"
		if isBold {
			f = bold
		}
		key := [2]float64{size, 0}
		if isBold {
			key[1] = 1
		}
		face := faces[key]
		if face == nil {
			face, err = opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				return err
			}
			faces[key] = face
		}
		d := &font.Drawer{Dst: img, Src: image.NewUniform(parseColor(attr["fill"])), Face: face}
		adv := float64(d.MeasureString(s)) / 64
		switch attr["text-anchor"] {
		case "middle":
			x -= adv / 2
		case "end":
			x -= adv
		}
		d.Dot = fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.Int26_6(y * 64)}
		d.DrawString(s)
	}
}

func parseColor(s string) color.Color {
	s = strings.TrimPrefix(s, "#")
	if len(s) == 6 {
		if v, err := strconv.ParseUint(s, 16, 32); err == nil {
			return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
		}
	}
	return color.Black
}

// Diff is the share of pixels of a and b whose colours differ by more
// than tolerance in a channel (0-255), or 1 when their sizes differ.
func Diff(a, b image.Image, tolerance int) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1
	}
	ab, bb := a.Bounds(), b.Bounds()
	differ := 0
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			c1 := color.RGBAModel.Convert(a.At(ab.Min.X+x, ab.Min.Y+y)).(color.RGBA)
			c2 := color.RGBAModel.Convert(b.At(bb.Min.X+x, bb.Min.Y+y)).(color.RGBA)
			if abs(int(c1.R)-int(c2.R)) > tolerance || abs(int(c1.G)-int(c2.G)) > tolerance || abs(int(c1.B)-int(c2.B)) > tolerance {
				differ++
			}
		}
	}
	return float64(differ) / float64(ab.Dx()*ab.Dy())
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
